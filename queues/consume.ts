import { type DomainEvent, parseEvent } from "#shared/contracts/events";
import { createLogger, errorFields, type Logger } from "#shared/log";
import { type MetricsBindings, recordMetric } from "#shared/metrics";
import { span } from "#shared/span";
import { parseTraceparent, type TraceContext } from "#shared/trace";

/**
 * The consume side of every event queue: parse each message against the catalogue, dispatch it by
 * type, and settle it explicitly (never `ackAll`): ack what took effect, retry with a delay what
 * failed for now, and ack an unreadable message after recording it, so it does not loop.
 */

/** What a handler says about one event. */
export type Outcome =
  /** It took effect (or had already): ack. */
  | { kind: "done" }
  /** Not now (e.g. a user this consumer does not know yet): retry later. */
  | { kind: "later"; reason: string };

export const DONE: Outcome = { kind: "done" };
export const later = (reason: string): Outcome => ({ kind: "later", reason });

/** A handler gets the event, a logger on its span, and the span (to pass on to what it calls). */
export type Handlers = {
  [T in DomainEvent["type"]]?: (
    event: Extract<DomainEvent, { type: T }>,
    log: Logger,
    trace: TraceContext,
  ) => Promise<Outcome>;
};

export type CatchAll = (event: DomainEvent, log: Logger, trace: TraceContext) => Promise<Outcome>;

export interface ConsumeOptions {
  service: string;
  /** A handler per type (types without one are acked and ignored), or one for every type. */
  handlers: Handlers | CatchAll;
  /** A message that is not a valid event: record it somewhere an operator looks. Throwing retries it. */
  onInvalid(message: Message<unknown>, issues: string): Promise<void>;
  /** Delay before retry number `attempts` (the message's attempts so far). */
  retryDelaySeconds?(attempts: number): number;
  /** Where the batch's `queue` metrics point goes (README "Metrics"). */
  metrics?: { env: MetricsBindings; waitUntil: ((promise: Promise<unknown>) => void) | undefined };
}

/** Exponential from 1 s, capped at 5 minutes. */
export function defaultRetryDelay(attempts: number): number {
  return Math.min(300, 2 ** Math.max(0, attempts - 1));
}

export interface Settled {
  acked: number;
  retried: number;
  invalid: number;
}

/** The trace a message carries (its envelope's `traceparent`), if any. */
function traceOf(body: unknown): TraceContext | undefined {
  const traceparent = (body as { traceparent?: unknown } | null)?.traceparent;
  return parseTraceparent(typeof traceparent === "string" ? traceparent : undefined);
}

/**
 * Consumes a batch: each message is a span (a child of its event's trace, outcome `ack`, `retry`
 * or `invalid`), and the batch is one `queue` metrics point: messages, the largest delay since an
 * event's `occurredAt`, retries, and messages given up as dead letters.
 */
export async function consume(batch: MessageBatch<unknown>, options: ConsumeOptions): Promise<Settled> {
  const settled: Settled = { acked: 0, retried: 0, invalid: 0 };
  let maxDelayMs = 0;
  await Promise.all(
    batch.messages.map((message) =>
      span<string>(
        {
          service: options.service,
          name: `consume ${batch.queue}`,
          parent: traceOf(message.body),
          fields: { queue: batch.queue, messageId: message.id, attempts: message.attempts },
          outcome: (kind) => kind,
        },
        async (trace) => {
          const outcome = await consumeOne(batch, message, options, settled, trace);
          if (outcome.delayMs !== null) maxDelayMs = Math.max(maxDelayMs, outcome.delayMs);
          return outcome.kind;
        },
      ),
    ),
  );
  if (options.metrics) {
    recordMetric(options.metrics.env, options.metrics.waitUntil, {
      kind: "queue",
      queue: batch.queue,
      consumer: options.service,
      messages: batch.messages.length,
      maxDelayMs,
      retried: settled.retried,
      deadLettered: settled.invalid,
    });
  }
  return settled;
}

async function consumeOne(
  batch: MessageBatch<unknown>,
  message: Message<unknown>,
  options: ConsumeOptions,
  settled: Settled,
  trace: TraceContext,
): Promise<{ kind: "ack" | "retry" | "invalid"; delayMs: number | null }> {
  const delay = options.retryDelaySeconds ?? defaultRetryDelay;
  const retry = (delayMs: number | null) => {
    message.retry({ delaySeconds: delay(message.attempts) });
    settled.retried += 1;
    return { kind: "retry" as const, delayMs };
  };
  const log = createLogger({ service: options.service, traceId: trace.traceId, spanId: trace.spanId });
  const parsed = parseEvent(message.body);
  if (!parsed.ok) {
    try {
      await options.onInvalid(message, parsed.issues);
      log.error("invalid message recorded and acknowledged", {
        queue: batch.queue,
        messageId: message.id,
        issues: parsed.issues,
      });
      message.ack();
      settled.invalid += 1;
      return { kind: "invalid", delayMs: null };
    } catch (error) {
      log.error("could not record an invalid message; retrying it", {
        messageId: message.id,
        ...errorFields(error),
      });
      return retry(null);
    }
  }
  const { event } = parsed;
  const delayMs = Math.max(0, Date.now() - Date.parse(event.occurredAt));
  const handler =
    typeof options.handlers === "function" ? options.handlers : (options.handlers[event.type] as CatchAll | undefined);
  const fields = { queue: batch.queue, eventId: event.id, type: event.type, attempts: message.attempts };
  try {
    const outcome = handler ? await handler(event, log, trace) : DONE;
    if (outcome.kind === "done") {
      message.ack();
      settled.acked += 1;
      log.info(handler ? "event handled" : "event ignored", fields);
      return { kind: "ack", delayMs };
    }
    log.warn("event deferred", { ...fields, reason: outcome.reason });
    return retry(delayMs);
  } catch (error) {
    log.warn("event failed; retrying", { ...fields, ...errorFields(error) });
    return retry(delayMs);
  }
}
