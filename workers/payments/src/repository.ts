import type { Outbox, Sql } from "#queues/outbox";
import type { BreakerState } from "#shared/contracts/breaker";
import type { Payment, PaymentStatus } from "#shared/contracts/payments";
import type { AttemptOutcome, Operation, ProviderAttempt } from "./provider-client";

/**
 * All SQL of shop-payments: prepared statements with bound parameters only. Each status a payment
 * reaches is written with its event (queues/outbox.ts) in one batch, on the condition that this
 * batch wrote it: a replay or a concurrent duplicate raises nothing.
 */

type PaymentEvent = "payment.authorized" | "payment.captured" | "payment.voided" | "payment.refunded";

/** The event of each status a payment can reach (a decline raises none). */
const EVENT_OF: Partial<Record<PaymentStatus, PaymentEvent>> = {
  authorized: "payment.authorized",
  captured: "payment.captured",
  voided: "payment.voided",
  refunded: "payment.refunded",
};

/** The data of a payment event, as the row stands inside the transaction. */
const paymentEventData = (orderId: string): Sql => ({
  sql: `SELECT json_object('orderId', order_id, 'paymentId', id, 'amountCents', amount_cents, 'currency', currency)
        FROM payments WHERE order_id = ?`,
  params: [orderId],
});

type PaymentRow = {
  id: string;
  order_id: string;
  amount_cents: number;
  currency: string;
  status: PaymentStatus;
  endpoint: string;
  provider_ref: string | null;
  created_at: string;
  updated_at: string;
};

type AttemptRow = {
  order_id: string;
  operation: Operation;
  endpoint: string;
  attempt: number;
  outcome: AttemptOutcome;
  breaker_state: BreakerState;
  duration_ms: number;
  error: string | null;
  created_at: string;
};

/** A ledger entry as stored: one provider attempt for one order. */
export interface StoredAttempt extends ProviderAttempt {
  orderId: string;
}

function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    orderId: row.order_id,
    amountCents: row.amount_cents,
    currency: row.currency,
    status: row.status,
    endpoint: row.endpoint,
    providerRef: row.provider_ref,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toAttempt(row: AttemptRow): StoredAttempt {
  return {
    orderId: row.order_id,
    operation: row.operation,
    endpoint: row.endpoint,
    attempt: row.attempt,
    outcome: row.outcome,
    breaker: row.breaker_state,
    durationMs: row.duration_ms,
    error: row.error,
    at: row.created_at,
  };
}

export class PaymentsRepository {
  constructor(
    private readonly db: D1Database,
    private readonly outbox: Outbox,
  ) {}

  async find(orderId: string): Promise<Payment | null> {
    const row = await this.#select(orderId).first<PaymentRow>();
    return row ? toPayment(row) : null;
  }

  /**
   * Stores the order's payment unless it already has one (the UNIQUE order id decides, not a prior
   * read), with its event (payment.authorized, or payment.voided for an authorisation found and
   * voided by reference) if ours is the one stored, and the attempts that led to it, in one batch.
   * Returns the stored payment: ours, or the one a concurrent call stored first.
   */
  async insert(payment: Payment, attempts: ProviderAttempt[]): Promise<Payment> {
    // A new row is an authorisation, a decline (no event), or an authorisation found by reference
    // and voided; a lookup that finds another state reports what the provider did, not a change of ours.
    const event = payment.status === "authorized" || payment.status === "voided" ? EVENT_OF[payment.status] : undefined;
    const results = await this.db.batch([
      this.db
        .prepare(
          `INSERT INTO payments (id, order_id, amount_cents, currency, status, endpoint, provider_ref, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id) DO NOTHING`,
        )
        .bind(
          payment.id,
          payment.orderId,
          payment.amountCents,
          payment.currency,
          payment.status,
          payment.endpoint,
          payment.providerRef,
          payment.createdAt,
          payment.updatedAt,
        ),
      ...(event
        ? this.outbox.stage({
            type: event,
            subject: payment.orderId,
            data: paymentEventData(payment.orderId),
            // Our payment id is new: the row carries it only if this insert won.
            when: { sql: "EXISTS (SELECT 1 FROM payments WHERE id = ?)", params: [payment.id] },
          })
        : []),
      ...this.#attemptInserts(payment.orderId, attempts),
      this.#select(payment.orderId),
    ]);
    return toPayment(lastRow<PaymentRow>(results));
  }

  /**
   * Moves the payment from `from` to `to` if it is still in `from` (one conditional statement),
   * with the event of `to` if that statement moved it, and the attempts, in one batch. Returns the
   * payment as stored afterwards, whoever moved it.
   */
  async transition(
    orderId: string,
    from: PaymentStatus,
    to: PaymentStatus,
    attempts: ProviderAttempt[],
    now: string,
  ): Promise<Payment> {
    const event = EVENT_OF[to];
    const results = await this.db.batch([
      this.db
        .prepare("UPDATE payments SET status = ?, updated_at = ? WHERE order_id = ? AND status = ?")
        .bind(to, now, orderId, from),
      ...(event
        ? this.outbox.stage({
            type: event,
            subject: orderId,
            data: paymentEventData(orderId),
            when: { sql: "changes() = 1", params: [] },
          })
        : []),
      ...this.#attemptInserts(orderId, attempts),
      this.#select(orderId),
    ]);
    return toPayment(lastRow<PaymentRow>(results));
  }

  async recordAttempts(orderId: string, attempts: ProviderAttempt[]): Promise<void> {
    const statements = this.#attemptInserts(orderId, attempts);
    if (statements.length > 0) await this.db.batch(statements);
  }

  async attempts(orderId: string): Promise<StoredAttempt[]> {
    const { results } = await this.db
      .prepare(
        `SELECT order_id, operation, endpoint, attempt, outcome, breaker_state, duration_ms, error, created_at
         FROM payment_attempts WHERE order_id = ? ORDER BY id`,
      )
      .bind(orderId)
      .all<AttemptRow>();
    return results.map(toAttempt);
  }

  /** Asks for a second look at the provider for `orderId` at `dueAt` (once: a pending check stays). */
  async scheduleVoidCheck(orderId: string, dueAt: string): Promise<void> {
    await this.db
      .prepare("INSERT INTO void_checks (order_id, due_at) VALUES (?, ?) ON CONFLICT (order_id) DO NOTHING")
      .bind(orderId, dueAt)
      .run();
  }

  async dueVoidChecks(now: string, limit: number): Promise<{ orderId: string; failures: number }[]> {
    const { results } = await this.db
      .prepare("SELECT order_id, failures FROM void_checks WHERE due_at <= ? ORDER BY due_at LIMIT ?")
      .bind(now, limit)
      .all<{ order_id: string; failures: number }>();
    return results.map((r) => ({ orderId: r.order_id, failures: r.failures }));
  }

  async postponeVoidCheck(orderId: string, dueAt: string): Promise<void> {
    await this.db
      .prepare("UPDATE void_checks SET due_at = ?, failures = failures + 1 WHERE order_id = ?")
      .bind(dueAt, orderId)
      .run();
  }

  async deleteVoidCheck(orderId: string): Promise<void> {
    await this.db.prepare("DELETE FROM void_checks WHERE order_id = ?").bind(orderId).run();
  }

  /** When the next check is due, or null when none is pending. */
  async nextVoidCheckAt(): Promise<string | null> {
    const row = await this.db.prepare("SELECT MIN(due_at) AS at FROM void_checks").first<{ at: string | null }>();
    return row?.at ?? null;
  }

  #select(orderId: string): D1PreparedStatement {
    return this.db
      .prepare(
        `SELECT id, order_id, amount_cents, currency, status, endpoint, provider_ref, created_at, updated_at
         FROM payments WHERE order_id = ?`,
      )
      .bind(orderId);
  }

  #attemptInserts(orderId: string, attempts: ProviderAttempt[]): D1PreparedStatement[] {
    const insert = this.db.prepare(
      `INSERT INTO payment_attempts
         (order_id, operation, endpoint, attempt, outcome, breaker_state, duration_ms, error, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return attempts.map((a) =>
      insert.bind(orderId, a.operation, a.endpoint, a.attempt, a.outcome, a.breaker, a.durationMs, a.error, a.at),
    );
  }
}

function lastRow<T>(results: D1Result[]): T {
  const row = results.at(-1)?.results[0];
  if (!row) throw new Error("the payment row vanished inside its own batch");
  return row as T;
}
