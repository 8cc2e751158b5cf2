import { publish } from "#queues/publish";
import type { Envelope, EventType, ReplayInput } from "#shared/contracts/events";
import { EventsRepository } from "./repository";
import { queueOf, SUBSCRIPTIONS } from "./subscriptions";

const PAGE = 100;

/**
 * Sends the stored events of a time range (and of some types) to one subscriber's queue again,
 * oldest first. Only types the subscriber subscribes to are sent: a replay cannot give it events
 * it never wanted. Its inbox makes every replayed event that already took effect a no-op.
 */
export async function replay(env: Env, input: ReplayInput): Promise<{ replayed: number }> {
  const wanted = SUBSCRIPTIONS[input.subscriber].types as readonly EventType[];
  const types = input.types ? input.types.filter((t) => wanted.includes(t)) : [...wanted];
  if (types.length === 0) return { replayed: 0 };
  const from = new Date(input.from).toISOString();
  const to = new Date(input.to ?? Date.now()).toISOString();
  const repo = new EventsRepository(env.DB);
  const queue = queueOf(env, input.subscriber);
  let replayed = 0;
  let after: [string, string] | null = null;
  for (;;) {
    const rows = await repo.range(types, from, to, after, PAGE);
    if (rows.length === 0) break;
    await publish(
      queue,
      rows.map((r) => JSON.parse(r.envelope) as Envelope),
      { service: "shop-events", queue: SUBSCRIPTIONS[input.subscriber].queue },
    );
    replayed += rows.length;
    const last = rows[rows.length - 1];
    if (!last || rows.length < PAGE) break;
    after = [last.occurred_at, last.id];
  }
  return { replayed };
}
