import type { MiddlewareHandler } from "hono";
import { actorOf } from "../workers/shared/src/contracts/common";
import type { EventSource } from "../workers/shared/src/contracts/events";
import type { RequestVariables } from "../workers/shared/src/http";
import { formatTraceparent } from "../workers/shared/src/trace";
import { Outbox, type OutboxBindings } from "./outbox";

export type OutboxVariables = RequestVariables & { outbox: Outbox };

/**
 * Gives each request of a producing service its outbox (events carry the request's span and the
 * actor of its verified identity), and
 * flushes it once the handler is done: events go out right after their commit, off the response path.
 */
export function withOutbox<B extends OutboxBindings>(
  source: EventSource,
): MiddlewareHandler<{ Bindings: B; Variables: OutboxVariables }> {
  return async function outboxMiddleware(c, next) {
    const outbox = new Outbox(c.env, source, {
      traceparent: formatTraceparent(c.get("trace")),
      actor: actorOf(c.get("identity")),
    });
    c.set("outbox", outbox);
    await next();
    c.executionCtx.waitUntil(outbox.flush());
  };
}
