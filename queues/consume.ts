import { type DomainEvent, parseEvent } from "../workers/shared/src/contracts/events";
import { createLogger, errorFields, type Logger } from "../workers/shared/src/log";
import { parseTraceparent } from "../workers/shared/src/trace";

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

export type Handlers = {
  [T in DomainEvent["type"]]?: (event: Extract<DomainEvent, { type: T }>, log: Logger) => Promise<Outcome>;
};

export type CatchAll = (event: DomainEvent, log: Logger) => Promise<Outcome>;

export interface ConsumeOptions {
  service: string;
  /** A handler per type (types without one are acked and ignored), or one for every type. */
  handlers: Handlers | CatchAll;
  /** A message that is not a valid event: record it somewhere an operator looks. Throwing retries it. */
  onInvalid(message: Message<unknown>, issues: string): Promise<void>;
  /** Delay before retry number `attempts` (the message's attempts so far). */
  retryDelaySeconds?(attempts: number): number;
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

/** The log of one message: its trace id (from the envelope) on every line. */
function loggerFor(service: string, body: unknown): Logger {
  const traceparent = (body as { traceparent?: unknown } | null)?.traceparent;
  const trace = parseTraceparent(typeof traceparent === "string" ? traceparent : undefined);
  return createLogger({ service, ...(trace ? { traceId: trace.traceId } : {}) });
}

export async function consume(batch: MessageBatch<unknown>, options: ConsumeOptions): Promise<Settled> {
  const delay = options.retryDelaySeconds ?? defaultRetryDelay;
  const settled: Settled = { acked: 0, retried: 0, invalid: 0 };
  const retry = (message: Message<unknown>) => {
    message.retry({ delaySeconds: delay(message.attempts) });
    settled.retried += 1;
  };
  await Promise.all(
    batch.messages.map(async (message) => {
      const log = loggerFor(options.service, message.body);
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
        } catch (error) {
          log.error("could not record an invalid message; retrying it", {
            messageId: message.id,
            ...errorFields(error),
          });
          retry(message);
        }
        return;
      }
      const { event } = parsed;
      const handler =
        typeof options.handlers === "function"
          ? options.handlers
          : (options.handlers[event.type] as CatchAll | undefined);
      const fields = { queue: batch.queue, eventId: event.id, type: event.type, attempts: message.attempts };
      try {
        const outcome = handler ? await handler(event, log) : DONE;
        if (outcome.kind === "done") {
          message.ack();
          settled.acked += 1;
          log.info(handler ? "event handled" : "event ignored", fields);
        } else {
          log.warn("event deferred", { ...fields, reason: outcome.reason });
          retry(message);
        }
      } catch (error) {
        log.warn("event failed; retrying", { ...fields, ...errorFields(error) });
        retry(message);
      }
    }),
  );
  return settled;
}
