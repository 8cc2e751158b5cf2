import { consume, DONE, type Settled } from "#queues/consume";
import { publish } from "#queues/publish";
import type { DomainEvent } from "#shared/contracts/events";
import type { Logger } from "#shared/log";
import { recordMetric } from "#shared/metrics";
import type { TraceContext } from "#shared/trace";
import { eventsConfig } from "./config";
import { EventsRepository } from "./repository";
import { queueOf, SUBSCRIPTIONS, subscribersOf } from "./subscriptions";

/**
 * The bus: every event from the `shop-events` queue is stored once by id, then forwarded to each
 * subscriber that wants its type. A redelivered event is stored once and forwarded again only if
 * its forwarding never finished, so subscribers see it at least once (their inboxes make it once).
 * Storing is the confirmation the producer's outbox waits for: the event's age then (from
 * `occurredAt`, its commit) is the outbox lag, one `outbox` metrics point per event stored.
 */
export async function ingest(
  env: Env,
  event: DomainEvent,
  log: Logger,
  trace?: TraceContext,
  waitUntil?: (promise: Promise<unknown>) => void,
): Promise<void> {
  const repo = new EventsRepository(env.DB);
  const now = Date.now();
  if (!(await repo.store(event, now))) return;
  recordMetric(env, waitUntil, {
    kind: "outbox",
    source: event.source,
    type: event.type,
    ageMs: Math.max(0, now - Date.parse(event.occurredAt)),
  });
  for (const subscriber of subscribersOf(event.type)) {
    await publish(queueOf(env, subscriber), [event], {
      service: "shop-events",
      queue: SUBSCRIPTIONS[subscriber].queue,
      ...(trace ? { parent: trace } : {}),
    });
    log.info("event forwarded", { eventId: event.id, type: event.type, subscriber });
  }
  await repo.markForwarded(event.id, now);
}

export async function consumeBus(
  env: Env,
  batch: MessageBatch<unknown>,
  waitUntil?: (promise: Promise<unknown>) => void,
): Promise<Settled> {
  const repo = new EventsRepository(env.DB);
  const settled = await consume(batch, {
    service: "shop-events",
    metrics: { env, waitUntil },
    handlers: async (event, log, trace) => {
      await ingest(env, event, log, trace, waitUntil);
      return DONE;
    },
    onInvalid: (message, issues) =>
      repo.recordDeadLetter(
        {
          queue: batch.queue,
          messageId: message.id,
          body: message.body,
          reason: `invalid event: ${issues}`,
          attempts: message.attempts,
        },
        new Date().toISOString(),
      ),
  });
  // Retention, a little at a time as the log grows.
  const cutoff = new Date(Date.now() - eventsConfig(env).retentionDays * 86_400_000).toISOString();
  await repo.deleteOlderThan(cutoff, 100);
  return settled;
}
