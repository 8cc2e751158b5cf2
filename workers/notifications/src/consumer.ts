import { type CatchAll, consume, DONE, type Handlers, later, type Outcome } from "#queues/consume";
import { faultsEnabled } from "#shared/config";
import type { Envelope } from "#shared/contracts/events";
import type { ConsumerFaults } from "#shared/contracts/faults";
import { drawRpcFault } from "#shared/faults";
import { createLogger, errorFields, type Logger } from "#shared/log";
import { type MetricsBindings, recordMetric } from "#shared/metrics";
import { span } from "#shared/span";
import { childTrace, formatTraceparent, type TraceContext } from "#shared/trace";
import { notificationsConfig, retryDelaySeconds } from "./config";
import { NotificationsRepository } from "./repository";
import { IDEMPOTENT_CHANNELS, type Outgoing, type Sender, senderFor } from "./sender";
import { messagesFor } from "./templates";

/**
 * The consumer of the `shop-notifications` queue. Each event is recorded once (inbox, directory
 * and messages in one batch) and then each of its messages is sent by exactly one delivery,
 * whichever of several concurrent or repeated deliveries claims it first.
 */

const SERVICE = "shop-notifications";

/** How long a claim on a message lasts: longer than a send may take, short enough to recover. */
export const CLAIM_MS = 60_000;
/** Inbox rows deleted per batch, so housekeeping never makes a batch slow. */
const INBOX_SWEEP = 25;

export interface ConsumerDeps {
  repo: NotificationsRepository;
  sender: Sender;
  now: () => number;
  /** Where each send's `notification` metrics point goes (none in some tests). */
  metrics?: { env: MetricsBindings; waitUntil: ((promise: Promise<unknown>) => void) | undefined };
}

/**
 * Hands one message to its provider as a span of the consuming message's span (the provider gets
 * it as `traceparent`), and records a `notification` metrics point: channel, outcome, duration.
 */
async function send(deps: ConsumerDeps, message: Outgoing, parent: TraceContext | undefined): Promise<void> {
  const started = Date.now();
  let outcome: "sent" | "failed" = "failed";
  try {
    await span(
      {
        service: SERVICE,
        name: `send ${message.channel}`,
        parent,
        fields: { notificationId: message.notificationId, channel: message.channel },
      },
      (trace) => deps.sender.send({ ...message, traceparent: formatTraceparent(trace) }),
    );
    outcome = "sent";
  } finally {
    if (deps.metrics) {
      recordMetric(deps.metrics.env, deps.metrics.waitUntil, {
        kind: "notification",
        channel: message.channel,
        outcome,
        durationMs: Math.max(0, Date.now() - started),
      });
    }
  }
}

type UserEvent = Envelope<"user.created"> | Envelope<"user.updated">;
type OrderEvent = Envelope<"order.confirmed"> | Envelope<"order.cancelled"> | Envelope<"order.shipped">;

export async function consumeNotifications(
  env: Env,
  batch: MessageBatch<unknown>,
  waitUntil?: (promise: Promise<unknown>) => void,
): Promise<void> {
  const config = notificationsConfig(env);
  const repo = new NotificationsRepository(env.DB);
  const metrics = { env, waitUntil };
  // A bad sender setting fails the batch before anything is recorded: every message is retried.
  const deps: ConsumerDeps = { repo, sender: senderFor(env, repo), now: Date.now, metrics };
  const handlers: Handlers = {
    "user.created": (event, log, trace) => onUserEvent(deps, event, log, trace),
    "user.updated": (event, log, trace) => onUserEvent(deps, event, log, trace),
    "order.confirmed": (event, log, trace) => onOrderEvent(deps, event, log, trace),
    "order.cancelled": (event, log, trace) => onOrderEvent(deps, event, log, trace),
    "order.shipped": (event, log, trace) => onOrderEvent(deps, event, log, trace),
  };
  const faults: ConsumerFaults = faultsEnabled(env) ? await repo.consumerFaults() : {};
  await consume(batch, {
    service: SERVICE,
    metrics,
    handlers: faults.notifications ? withFault(handlers, faults) : handlers,
    onInvalid: async (message, issues) => {
      const recorded = await env.EVENTS.recordDeadLetter({
        queue: batch.queue,
        messageId: message.id,
        body: message.body,
        reason: `not a valid event: ${issues}`.slice(0, 2000),
        attempts: message.attempts,
      });
      // Not recorded: throwing retries the message.
      if (!recorded.ok) throw new Error(`dead letter not recorded: ${recorded.code}: ${recorded.detail}`);
    },
    retryDelaySeconds: (attempts) => retryDelaySeconds(config.retryBaseSeconds, attempts),
  });
  await sweepInbox(repo, deps.now() - config.inboxRetentionDays * 86_400_000);
}

/**
 * Injected faults (development only): a share of deliveries fails before anything is done, so the
 * message is retried, and one that fails every retry goes to the dead-letter queue like any other.
 */
function withFault(handlers: Handlers, faults: ConsumerFaults): CatchAll {
  return async (event, log, trace) => {
    const handler = handlers[event.type] as CatchAll | undefined;
    if (!handler) return DONE;
    if (drawRpcFault({ errorRate: faults.notifications?.errorRate }).outcome === "error") {
      throw new Error("injected fault: the notifications consumer failed");
    }
    return handler(event, log, trace);
  };
}

/** The directory learns the user (unless it knows a newer version); user.created says welcome. */
export async function onUserEvent(
  deps: ConsumerDeps,
  event: UserEvent,
  log: Logger,
  trace?: TraceContext,
): Promise<Outcome> {
  if (!(await deps.repo.seen(event.id))) {
    const { userId, email, name, phone, role } = event.data;
    const stored = await deps.repo.contact(userId);
    // A newer update may have arrived first: greet the user where they are now.
    const current = stored && stored.sequence > event.sequence ? stored : { userId, email, name, phone };
    await deps.repo.record(
      {
        event,
        userId,
        orderId: null,
        contact: { userId, email, name, phone, role, sequence: event.sequence },
        messages: messagesFor(event, current),
      },
      deps.now(),
    );
  }
  return deliver(deps, event.id, log, trace);
}

/** An order's message goes to its user's current contact; a user not known yet means later. */
export async function onOrderEvent(
  deps: ConsumerDeps,
  event: OrderEvent,
  log: Logger,
  trace?: TraceContext,
): Promise<Outcome> {
  if (!(await deps.repo.seen(event.id))) {
    const { userId, orderId } = event.data;
    const contact = await deps.repo.contact(userId);
    if (!contact) return later(`unknown user ${userId}: no user.created seen yet`);
    await deps.repo.record({ event, userId, orderId, messages: messagesFor(event, contact) }, deps.now());
  }
  return deliver(deps, event.id, log, trace);
}

/**
 * Sends each unsent message of the event that this delivery manages to claim. A message another
 * delivery holds is not done yet: this one comes back later and finds it sent (or the claim
 * expired, and sends it then). Email is exactly once (its provider dedups by our id, so a send
 * may be repeated); SMS at most once (see `sendAtMostOnce`).
 */
export async function deliver(
  deps: ConsumerDeps,
  eventId: string,
  log: Logger,
  trace?: TraceContext,
): Promise<Outcome> {
  let busy = 0;
  for (const message of await deps.repo.unsent(eventId)) {
    const claimed = IDEMPOTENT_CHANNELS.has(message.channel)
      ? await sendExactlyOnce(deps, eventId, message, log, trace)
      : await sendAtMostOnce(deps, eventId, message, log, trace);
    if (!claimed) busy += 1;
  }
  return busy > 0 ? later(`${busy} message(s) of ${eventId} being sent by another delivery`) : DONE;
}

/**
 * Claim, send, mark sent. A failed send gives the claim back and throws (the message is retried);
 * a failed mark throws too, and the resend after the claim expires carries the same idempotency
 * key, so the provider sends it once. Returns false when another delivery holds the claim.
 */
async function sendExactlyOnce(
  deps: ConsumerDeps,
  eventId: string,
  message: Outgoing,
  log: Logger,
  trace: TraceContext | undefined,
): Promise<boolean> {
  const now = deps.now();
  if (!(await deps.repo.claim(message.notificationId, now + CLAIM_MS, now))) return false;
  try {
    await send(deps, message, trace);
  } catch (error) {
    await deps.repo.release(message.notificationId).catch((releaseError: unknown) => {
      log.error("could not release a claim; it expires by itself", {
        notificationId: message.notificationId,
        ...errorFields(releaseError),
      });
    });
    throw error;
  }
  await deps.repo.markSent(message.notificationId, deps.now());
  log.info("notification sent", { eventId, notificationId: message.notificationId, channel: message.channel });
  return true;
}

/**
 * Recorded as sent in the claim itself, before the send: no redelivery, replay or expired claim
 * sends it again. A send that fails is recorded as failed and logged, never retried (it may have
 * gone out: the provider cannot tell us). Returns false when another delivery holds the claim.
 */
async function sendAtMostOnce(
  deps: ConsumerDeps,
  eventId: string,
  message: Outgoing,
  log: Logger,
  trace: TraceContext | undefined,
): Promise<boolean> {
  // Lost to another delivery: it is sent (or failed) already, and the next look finds it so.
  if (!(await deps.repo.claimAsSent(message.notificationId, deps.now()))) return false;
  try {
    await send(deps, message, trace);
  } catch (error) {
    log.error("notification failed; sent at most once, so it is not retried", {
      eventId,
      notificationId: message.notificationId,
      channel: message.channel,
      ...errorFields(error),
    });
    await deps.repo.markFailed(message.notificationId, deps.now(), String(error)).catch((markError: unknown) => {
      log.error("could not record the failure; the message stays recorded as sent", {
        notificationId: message.notificationId,
        ...errorFields(markError),
      });
    });
    return true;
  }
  log.info("notification sent", { eventId, notificationId: message.notificationId, channel: message.channel });
  return true;
}

/** Forgets old inbox rows, a few per batch (notifications stay unique by event and channel). */
async function sweepInbox(repo: NotificationsRepository, cutoff: number): Promise<void> {
  // A batch is many traces; this work belongs to none of them, so it gets its own.
  const log = createLogger({ service: SERVICE, traceId: childTrace(undefined).traceId });
  try {
    const deleted = await repo.deleteInboxBefore(cutoff, INBOX_SWEEP);
    if (deleted > 0) log.info("old inbox rows deleted", { deleted });
  } catch (error) {
    log.warn("inbox housekeeping failed; the next batch tries again", errorFields(error));
  }
}
