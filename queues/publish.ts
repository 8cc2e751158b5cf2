import type { Envelope } from "#shared/contracts/events";
import { span } from "#shared/span";
import { parseTraceparent, type TraceContext } from "#shared/trace";

/** Cloudflare Queues takes at most 100 messages per `sendBatch`. */
const BATCH_LIMIT = 100;

/** Who sends, and to which queue (the binding does not know its queue's name): for the span line. */
export interface SendLabel {
  service: string;
  queue: string;
  /** The span sending (a consumer forwarding); by default each event's own `traceparent`. */
  parent?: TraceContext;
}

/**
 * Sends envelopes to a queue as JSON messages, in batches the platform accepts. Each send is a
 * span in the trace its events belong to (envelopes of several traces go in one send per trace).
 * A rejected send throws: the caller keeps whatever it was sending from (an outbox row, a message
 * to retry).
 */
export async function publish(queue: Queue, envelopes: readonly Envelope[], label: SendLabel): Promise<void> {
  const byTrace = new Map<string | null, Envelope[]>();
  for (const envelope of envelopes) {
    const group = byTrace.get(envelope.traceparent) ?? [];
    group.push(envelope);
    byTrace.set(envelope.traceparent, group);
  }
  for (const [traceparent, group] of byTrace) {
    for (let start = 0; start < group.length; start += BATCH_LIMIT) {
      const chunk = group.slice(start, start + BATCH_LIMIT);
      await span(
        {
          service: label.service,
          name: `send ${label.queue}`,
          parent: label.parent ?? parseTraceparent(traceparent),
          fields: { queue: label.queue, eventIds: chunk.map((e) => e.id) },
        },
        () => queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const }))),
      );
    }
  }
}
