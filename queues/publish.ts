import type { Envelope } from "../workers/shared/src/contracts/events";

/** Cloudflare Queues takes at most 100 messages per `sendBatch`. */
const BATCH_LIMIT = 100;

/**
 * Sends envelopes to a queue as JSON messages, in batches the platform accepts. A rejected send
 * throws: the caller keeps whatever it was sending from (an outbox row, a message to retry).
 */
export async function publish(queue: Queue, envelopes: readonly Envelope[]): Promise<void> {
  for (let start = 0; start < envelopes.length; start += BATCH_LIMIT) {
    const chunk = envelopes.slice(start, start + BATCH_LIMIT);
    await queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const })));
  }
}
