import { DeadLetterInputSchema } from "#shared/contracts/events";
import { createLogger, errorFields } from "#shared/log";
import { recordMetric } from "#shared/metrics";
import { ok, type Result } from "#shared/result";
import { parseResult } from "#shared/validation";
import { EventsRepository } from "./repository";
import { DEAD_LETTER_QUEUES, redriveTarget } from "./subscriptions";

const log = () => createLogger({ service: "shop-events/dead-letters" });

/**
 * A dead-letter queue is the end of the line (it has no dead-letter queue of its own), so storing
 * is retried for days: from 5 s, doubling, capped at an hour; max_retries 100 spans about 4 days.
 */
export function deadLetterRetryDelay(attempts: number): number {
  return Math.min(3600, 5 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Messages arriving on a dead-letter queue are stored, each once, and acked. The batch is a
 * `queue` metrics point whose dead letters are the messages stored (README "Metrics").
 */
export async function consumeDeadLetters(
  env: Env,
  batch: MessageBatch<unknown>,
  waitUntil?: (promise: Promise<unknown>) => void,
): Promise<void> {
  const repo = new EventsRepository(env.DB);
  const queue = DEAD_LETTER_QUEUES[batch.queue] ?? batch.queue;
  let stored = 0;
  let retried = 0;
  for (const message of batch.messages) {
    try {
      await repo.recordDeadLetter(
        {
          queue,
          messageId: message.id,
          body: message.body,
          reason: `gave up after the retries of ${queue}`,
          attempts: message.attempts,
        },
        new Date().toISOString(),
      );
      message.ack();
      stored += 1;
      log().warn("dead letter stored", { queue, messageId: message.id });
    } catch (error) {
      log().error("dead letter not stored; retrying", { queue, messageId: message.id, ...errorFields(error) });
      message.retry({ delaySeconds: deadLetterRetryDelay(message.attempts) });
      retried += 1;
    }
  }
  recordMetric(env, waitUntil, {
    kind: "queue",
    queue: batch.queue,
    consumer: "shop-events",
    messages: batch.messages.length,
    maxDelayMs: 0,
    retried,
    deadLettered: stored,
  });
}

/** A consumer recording a message it cannot read (RPC input: bad input is a `validation_failed` value). */
export async function recordDeadLetter(env: Env, input: unknown): Promise<Result<{ recorded: true }>> {
  const parsed = parseResult(DeadLetterInputSchema, input, "dead letter");
  if (!parsed.ok) return parsed;
  await new EventsRepository(env.DB).recordDeadLetter(parsed.value, new Date().toISOString());
  return ok({ recorded: true });
}

/**
 * Sends waiting dead letters back to the queue they failed on. Each is claimed first, so two
 * redrives at once send it once; a send that fails gives the claim back.
 */
export async function redrive(env: Env, ids: readonly string[] | undefined): Promise<number> {
  const repo = new EventsRepository(env.DB);
  let redriven = 0;
  for (const letter of await repo.waitingDeadLetters(ids, 100)) {
    const target = redriveTarget(env, letter.queue);
    if (!target || !(await repo.claimRedrive(letter.id, new Date().toISOString()))) continue;
    try {
      await target.send(letter.body, { contentType: "json" });
      redriven += 1;
    } catch (error) {
      await repo.unclaimRedrive(letter.id);
      throw error;
    }
  }
  return redriven;
}
