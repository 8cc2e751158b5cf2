import type { MiddlewareHandler } from "hono";
import { actorOf } from "#shared/contracts/common";
import type { EventSource } from "#shared/contracts/events";
import type { RequestVariables } from "#shared/http";
import { formatTraceparent } from "#shared/trace";
import { type Outbox, type OutboxBindings, unitOfWork } from "./outbox";

export type OutboxVariables = RequestVariables & { outbox: Outbox };

/**
 * Makes each request of a producing service one unit of work (`unitOfWork`): its outbox (events
 * carry the request's span and the actor of its verified identity) is flushed once the handler is
 * done, off the response path.
 */
export function withOutbox<B extends OutboxBindings>(
  source: EventSource,
): MiddlewareHandler<{ Bindings: B; Variables: OutboxVariables }> {
  return async function outboxMiddleware(c, next) {
    await unitOfWork(
      c.executionCtx,
      c.env,
      source,
      { traceparent: formatTraceparent(c.get("trace")), actor: actorOf(c.get("identity")) },
      async (outbox) => {
        c.set("outbox", outbox);
        await next();
      },
    );
  };
}
