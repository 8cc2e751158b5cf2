import type { EventType, Subscriber } from "#shared/contracts/events";

/**
 * Who wants which events: the one place subscriptions are declared. Each subscriber has its own
 * queue (a producer binding of shop-events), and gets exactly these types, live and on replay.
 */
export const SUBSCRIPTIONS = {
  notifications: {
    binding: "NOTIFICATIONS_QUEUE",
    /** The queue's name (for log lines; the binding does not know it). */
    queue: "shop-notifications",
    types: ["user.created", "user.updated", "order.confirmed", "order.cancelled", "order.shipped"],
  },
  /** shop-ops: an admin made by a script is known only by its user event (the audit trail). */
  audit: {
    binding: "AUDIT_QUEUE",
    queue: "shop-audit",
    types: ["user.created", "user.updated"],
  },
} as const satisfies Record<Subscriber, { binding: keyof Env; queue: string; types: readonly EventType[] }>;

export function subscribersOf(type: EventType): Subscriber[] {
  return (Object.keys(SUBSCRIPTIONS) as Subscriber[]).filter((name) =>
    (SUBSCRIPTIONS[name].types as readonly EventType[]).includes(type),
  );
}

export function queueOf(env: Env, subscriber: Subscriber): Queue {
  return env[SUBSCRIPTIONS[subscriber].binding];
}

/** Where a dead letter from each dead-letter queue came from, and so where a redrive sends it. */
export const DEAD_LETTER_QUEUES: Record<string, string> = {
  "shop-events-dlq": "shop-events",
  "shop-notifications-dlq": "shop-notifications",
  "shop-audit-dlq": "shop-audit",
};

/** Queues a dead letter can be redriven to, by name. */
export function redriveTarget(env: Env, queue: string): Queue | undefined {
  if (queue === "shop-events") return env.EVENTS_QUEUE;
  if (queue === "shop-notifications") return env.NOTIFICATIONS_QUEUE;
  if (queue === "shop-audit") return env.AUDIT_QUEUE;
  return undefined;
}
