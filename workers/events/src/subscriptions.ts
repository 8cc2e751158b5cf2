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

/** The bus's own queue: every producer sends here, and its dead letters are redriven here. */
const BUS_QUEUE = "shop-events";

/**
 * Where a dead letter from each dead-letter queue came from, and so where a redrive sends it: the
 * bus and every subscriber's queue have a `-dlq` twin (their wrangler configs name it).
 */
export const DEAD_LETTER_QUEUES: Record<string, string> = Object.fromEntries(
  [BUS_QUEUE, ...Object.values(SUBSCRIPTIONS).map((s) => s.queue)].map((queue) => [`${queue}-dlq`, queue]),
);

/** Queues a dead letter can be redriven to, by name: the bus, or a subscriber's queue. */
export function redriveTarget(env: Env, queue: string): Queue | undefined {
  if (queue === BUS_QUEUE) return env.EVENTS_QUEUE;
  const subscription = Object.values(SUBSCRIPTIONS).find((s) => s.queue === queue);
  return subscription ? env[subscription.binding] : undefined;
}
