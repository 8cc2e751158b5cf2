import { consume, DONE } from "#queues/consume";
import { CLI_ACTOR } from "#shared/cli";
import type { DomainEvent } from "#shared/contracts/events";
import type { AuditInput } from "#shared/contracts/ops";
import { childTrace, parseTraceparent } from "#shared/trace";
import { auditTrail } from "./trail";

/**
 * Privileged actions that never pass the gateway reach the audit trail through their events: shop-ops
 * subscribes to the user events (`shop-audit`, workers/events/src/subscriptions.ts).
 * `npm run admin:create` writes users-db directly (locally or on Cloudflare, where no script can
 * reach shop-ops), raising `user.created` (a new admin) or `user.updated` (a customer promoted)
 * with the actor `system:cli`; such an event is recorded as `admin.create`. The event id is the
 * entry's request id, so a redelivered or replayed event is recorded once (the trail keeps one
 * entry per request id, action and target).
 */
export function auditOf(event: DomainEvent): AuditInput | undefined {
  if (event.type !== "user.created" && event.type !== "user.updated") return undefined;
  if (event.actor?.type !== CLI_ACTOR.type || event.actor.id !== CLI_ACTOR.id) return undefined;
  if (event.source !== "shop-users" || event.data.role !== "admin") return undefined;
  return {
    actor: CLI_ACTOR,
    action: "admin.create",
    target: `user:${event.data.userId}`,
    // The script promotes only an account that is not an admin, and the other role is customer.
    ...(event.type === "user.updated" ? { before: { role: "customer" } } : {}),
    after: { email: event.data.email, role: "admin" },
    requestId: event.id,
    traceId: (parseTraceparent(event.traceparent) ?? childTrace(undefined)).traceId,
  };
}

/**
 * The `shop-audit` consumer: records each event's entry, if it has one. A failed write throws, and
 * the message is retried; a message that is not an event is retried too, until the queue hands it
 * to `shop-audit-dlq`, which shop-events keeps with the other dead letters (shop-ops binds no
 * service, so it cannot record one itself).
 */
export function consumeAuditEvents(
  env: Env,
  batch: MessageBatch<unknown>,
  waitUntil: (promise: Promise<unknown>) => void,
) {
  return consume(batch, {
    service: "shop-ops",
    metrics: { env, waitUntil },
    handlers: async (event, log) => {
      const input = auditOf(event);
      if (!input) return DONE;
      const entry = await auditTrail(env).append(input);
      log.info("audit entry recorded from an event", { eventId: event.id, seq: entry.seq, action: entry.action });
      return DONE;
    },
    onInvalid: async (_message, issues) => {
      throw new Error(`not an event (${issues}); left for shop-audit-dlq`);
    },
  });
}
