import * as z from "zod";
import { RoleSchema } from "../identity";
import type { Result } from "../result";
import { ActorSchema, CentsSchema, CurrencySchema, idSchema, OrderIdSchema, ProductIdSchema, pageOf } from "./common";

/**
 * Domain events (SPEC.md section 5): the envelope every event travels in, and the catalogue of
 * event types, one zod schema per type with its version. Producers build envelopes from these
 * types; every consumer parses each message with `parseEvent` before acting on it.
 */

export const EventIdSchema = idSchema("evt");
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const UserId = idSchema("usr");
const Line = z.object({ productId: ProductIdSchema, quantity: z.number().int().min(1).max(100) });
const Reason = z.enum([
  "out_of_stock",
  "payment_declined",
  "payment_unavailable",
  "cancelled_by_customer",
  "cancelled_by_admin",
]);

const UserData = z.object({
  userId: UserId,
  email: z.string().email(),
  name: z.string(),
  phone: z.string().nullable(),
  role: RoleSchema,
});
const PaymentData = z.object({
  orderId: OrderIdSchema,
  paymentId: idSchema("pay"),
  amountCents: CentsSchema,
  currency: CurrencySchema,
});
const SagaData = z.object({
  orderId: OrderIdSchema,
  state: z.enum(["completed", "cancelled", "compensation_failed"]),
  reason: Reason.optional(),
  step: z.string().optional(),
});

/** The catalogue: each type's current version and the schema of its `data`. */
export const EVENT_CATALOGUE = {
  "user.created": { version: 1, data: UserData },
  "user.updated": { version: 1, data: UserData },
  "product.created": {
    version: 1,
    data: z.object({
      productId: ProductIdSchema,
      name: z.string(),
      priceCents: CentsSchema,
      currency: CurrencySchema,
      stock: z.number().int().min(0),
    }),
  },
  "product.updated": {
    version: 1,
    data: z.object({
      productId: ProductIdSchema,
      name: z.string(),
      priceCents: CentsSchema,
      currency: CurrencySchema,
      available: z.number().int().min(0),
      stocked: z.number().int().min(0),
    }),
  },
  "stock.reserved": { version: 1, data: z.object({ orderId: OrderIdSchema, lines: z.array(Line).min(1) }) },
  "stock.committed": { version: 1, data: z.object({ orderId: OrderIdSchema, lines: z.array(Line) }) },
  /** `from`: a reservation given up (`reserved`), or sold stock returned after a refund (`committed`). */
  "stock.released": {
    version: 1,
    data: z.object({ orderId: OrderIdSchema, from: z.enum(["reserved", "committed"]), lines: z.array(Line) }),
  },
  "order.created": {
    version: 1,
    data: z.object({
      orderId: OrderIdSchema,
      userId: UserId,
      items: z.array(Line.extend({ unitPriceCents: CentsSchema })).min(1),
      totalCents: CentsSchema,
      currency: CurrencySchema,
    }),
  },
  "order.confirmed": {
    version: 1,
    data: z.object({ orderId: OrderIdSchema, userId: UserId, totalCents: CentsSchema, currency: CurrencySchema }),
  },
  "order.cancelled": {
    version: 1,
    data: z.object({
      orderId: OrderIdSchema,
      userId: UserId,
      reason: Reason,
      totalCents: CentsSchema,
      currency: CurrencySchema,
    }),
  },
  "order.shipped": {
    version: 1,
    data: z.object({ orderId: OrderIdSchema, userId: UserId, trackingNumber: z.string().min(1).max(64) }),
  },
  "payment.authorized": { version: 1, data: PaymentData },
  "payment.captured": { version: 1, data: PaymentData },
  "payment.voided": { version: 1, data: PaymentData },
  "payment.refunded": { version: 1, data: PaymentData },
  "order.saga.completed": { version: 1, data: SagaData },
  "order.saga.failed": { version: 1, data: SagaData },
  "order.saga.compensation_failed": { version: 1, data: SagaData },
} as const satisfies Record<string, { version: number; data: z.ZodType }>;

export type EventType = keyof typeof EVENT_CATALOGUE;
export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as EventType[];
export const EventTypeSchema = z.enum(EVENT_TYPES as [EventType, ...EventType[]]);
export type EventData<T extends EventType> = z.infer<(typeof EVENT_CATALOGUE)[T]["data"]>;

/** The services that publish events (the envelope's `source`). */
export const EventSourceSchema = z.enum(["shop-users", "shop-catalog", "shop-payments", "shop-orders"]);
export type EventSource = z.infer<typeof EventSourceSchema>;

/**
 * The envelope, checked without its data: a reader sees the shape every event shares.
 * `sequence` counts per subject at its source, from 1. `traceparent` is the W3C trace context of
 * the request that caused the event (null when no request did, e.g. a seed). `actor` is who caused
 * it (from the verified identity, through RPC and the saga; "system" for sweeps, timers and
 * scripts); events stored before it existed have none and still parse.
 */
export const EnvelopeSchema = z
  .object({
    id: EventIdSchema,
    type: EventTypeSchema,
    version: z.number().int().min(1),
    occurredAt: z.iso.datetime(),
    source: EventSourceSchema,
    subject: z.string().min(1).max(64),
    sequence: z.number().int().min(1),
    traceparent: z.string().regex(TRACEPARENT).nullable(),
    actor: ActorSchema.optional(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "EventEnvelope" });

export type Envelope<T extends EventType = EventType> = Omit<z.infer<typeof EnvelopeSchema>, "type" | "data"> & {
  type: T;
  data: EventData<T>;
};

/** Any event of the catalogue, discriminated by `type`. */
export type DomainEvent = { [T in EventType]: Envelope<T> }[EventType];

export type ParsedEvent = { ok: true; event: DomainEvent } | { ok: false; issues: string };

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
}

/**
 * Validates a message body as an envelope and its data against the catalogue. A version this
 * code does not know is invalid too: it would be read with the wrong schema.
 */
export function parseEvent(body: unknown): ParsedEvent {
  const envelope = EnvelopeSchema.safeParse(body);
  if (!envelope.success) return { ok: false, issues: describe(envelope.error) };
  const entry = EVENT_CATALOGUE[envelope.data.type];
  if (envelope.data.version !== entry.version) {
    return { ok: false, issues: `version: ${envelope.data.type} v${envelope.data.version} is not known` };
  }
  const data = entry.data.safeParse(envelope.data.data);
  if (!data.success) return { ok: false, issues: describe(data.error).replace(/^/, "data.") };
  return { ok: true, event: { ...envelope.data, data: data.data } as DomainEvent };
}

// ------------------------------------------------------------------------------------------------
// The shop-events RPC surface and admin API

/** Names of subscribers a replay can target (subscriptions are declared in shop-events). */
export const SubscriberSchema = z.enum(["notifications", "audit"]);
export type Subscriber = z.infer<typeof SubscriberSchema>;

export const DeadLetterInputSchema = z.object({
  /** The queue the message failed on (where a redrive sends it back). */
  queue: z.string().min(1).max(64),
  body: z.unknown(),
  reason: z.string().min(1).max(2000),
  /** The message's id on that queue, so recording one twice stores it once. */
  messageId: z.string().min(1).max(128),
  attempts: z.number().int().min(0),
});
export type DeadLetterInput = z.infer<typeof DeadLetterInputSchema>;

/** The outbox sweep asks about at most a page of ids at a time. */
export const StoredQuerySchema = z.array(EventIdSchema).max(500);

/** A producing service's outbox, as `outboxBacklog()` reports it (rows not yet confirmed by shop-events). */
export interface OutboxBacklog {
  pending: number;
  /** Epoch ms the oldest row was written; null when the outbox is empty. */
  oldestCreatedAt: number | null;
}

export interface EventsRpc {
  /** Of these event ids, the ones the log holds: the outbox sweep deletes those rows. */
  stored(ids: string[]): Promise<string[]>;
  /** A consumer gives up on a message it cannot read: it is kept as a dead letter. */
  recordDeadLetter(input: DeadLetterInput): Promise<Result<{ recorded: true }>>;
}

const isoTime = z.iso.datetime({ offset: true }).meta({ description: "ISO 8601 time" });

export const EventQuerySchema = z.object({
  type: EventTypeSchema.optional(),
  subject: z.string().min(1).max(64).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
});

export const EventPageSchema = pageOf(EnvelopeSchema).meta({ id: "EventPage" });

export const ReplayInputSchema = z
  .strictObject({
    from: isoTime,
    to: isoTime.optional(),
    types: z.array(EventTypeSchema).min(1).max(EVENT_TYPES.length).optional(),
    subscriber: SubscriberSchema,
  })
  .refine((input) => !input.to || Date.parse(input.to) >= Date.parse(input.from), {
    error: "`to` must not be before `from`.",
    path: ["to"],
  })
  .meta({
    id: "ReplayInput",
    examples: [{ from: "2026-12-01T00:00:00Z", types: ["order.confirmed"], subscriber: "notifications" }],
  });
export type ReplayInput = z.infer<typeof ReplayInputSchema>;

export const ReplayResultSchema = z.object({ replayed: z.number().int().min(0) }).meta({ id: "ReplayResult" });

export const DeadLetterSchema = z
  .object({
    id: z.string(),
    queue: z.string(),
    messageId: z.string(),
    reason: z.string(),
    attempts: z.number().int(),
    body: z.unknown(),
    failedAt: z.string(),
    redrivenAt: z.string().nullable(),
  })
  .meta({ id: "DeadLetter" });
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

export const DeadLetterQuerySchema = z.object({
  queue: z.string().min(1).max(64).optional(),
  state: z.enum(["waiting", "redriven"]).optional(),
});

export const DeadLetterPageSchema = pageOf(DeadLetterSchema).meta({ id: "DeadLetterPage" });

export const RedriveInputSchema = z
  .strictObject({ ids: z.array(z.string().min(1).max(64)).min(1).max(100).optional() })
  .meta({
    id: "RedriveInput",
    description: "Redrive these dead letters, or (without `ids`) every waiting one.",
    examples: [{}, { ids: ["dlq_01m6b5kx00seed000000000001"] }],
  });

export const RedriveResultSchema = z.object({ redriven: z.number().int().min(0) }).meta({ id: "RedriveResult" });
