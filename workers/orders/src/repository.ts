import type { Outbox, Sql } from "#queues/outbox";
import type { EventData } from "#shared/contracts/events";
import type { RpcFaultSpec, RpcFaults, RpcFaultTarget } from "#shared/contracts/faults";
import type { CancelReason, Order, OrderStatus, SagaState, SagaView } from "#shared/contracts/orders";
import { encodeCursor } from "#shared/cursor";
import { isEmptyRpcFaultSpec } from "#shared/faults";
import type { SagaEventData, SagaEventType } from "./saga/machine";
import type { SagaPlan } from "./saga/steps";

/** All SQL of shop-orders: prepared statements with bound parameters only. */

interface OrderRow {
  id: string;
  user_id: string;
  status: OrderStatus;
  reason: CancelReason | null;
  total_cents: number;
  currency: string;
  tracking_number: string | null;
  created_at: string;
  saga_state: SagaState | null;
  saga_steps: string | null;
}

interface ItemRow {
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price_cents: number;
}

export interface NewOrder {
  id: string;
  userId: string;
  items: { productId: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  currency: string;
  createdAt: string;
  /** The W3C trace context of the request that placed it: its events and saga calls carry it. */
  traceparent: string | null;
}

export interface IdempotencyRecord {
  fingerprint: string;
  orderId: string;
  /** seconds */
  createdAt: number;
  response: { status: number; body: string } | null;
}

const ORDER_SELECT = `SELECT o.id, o.user_id, o.status, o.reason, o.total_cents, o.currency, o.tracking_number, o.created_at,
  s.state AS saga_state, s.steps AS saga_steps
  FROM orders o LEFT JOIN sagas s ON s.order_id = o.id`;

function toOrder(row: OrderRow, items: ItemRow[]): Order {
  const saga: SagaView = {
    state: row.saga_state ?? "running",
    steps: row.saga_steps ? (JSON.parse(row.saga_steps) as SagaView["steps"]) : [],
  };
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    items: items.map((i) => ({ productId: i.product_id, quantity: i.quantity, unitPriceCents: i.unit_price_cents })),
    totalCents: row.total_cents,
    currency: row.currency,
    ...(row.tracking_number ? { trackingNumber: row.tracking_number } : {}),
    createdAt: row.created_at,
    saga,
  };
}

/** The data of order.confirmed and order.cancelled, as the row stands inside the transaction. */
const orderEventData = (orderId: string): Sql => ({
  sql: `SELECT json_object('orderId', id, 'userId', user_id, 'totalCents', total_cents, 'currency', currency,
          'reason', reason) FROM orders WHERE id = ?`,
  params: [orderId],
});

/** The status write just before it changed a row: its event is written only then. */
const CHANGED: Sql = { sql: "changes() = 1", params: [] };

export class OrdersRepository {
  constructor(
    private readonly db: D1Database,
    private readonly outbox: Outbox,
  ) {}

  async idempotency(userId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const row = await this.db
      .prepare(
        "SELECT fingerprint, order_id, response_status, response_body, created_at FROM idempotency_keys WHERE user_id = ? AND key = ?",
      )
      .bind(userId, key)
      .first<{
        fingerprint: string;
        order_id: string;
        response_status: number | null;
        response_body: string | null;
        created_at: number;
      }>();
    if (!row) return undefined;
    return {
      fingerprint: row.fingerprint,
      orderId: row.order_id,
      createdAt: row.created_at,
      response: row.response_status === null ? null : { status: row.response_status, body: row.response_body ?? "" },
    };
  }

  /**
   * The order, its lines, its saga row and its idempotency record in one transaction. The key is
   * claimed first; every other insert is conditional on the claim naming this order, so a
   * concurrent request with the same key writes nothing. Returns whether this request won.
   */
  async insertOrder(order: NewOrder, idempotency: { key: string; fingerprint: string; now: number }): Promise<boolean> {
    const claimed = "EXISTS (SELECT 1 FROM idempotency_keys WHERE user_id = ? AND key = ? AND order_id = ?)";
    const claim = [order.userId, idempotency.key, order.id];
    const statements = [
      this.db
        .prepare(
          "INSERT INTO idempotency_keys (user_id, key, fingerprint, order_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(order.userId, idempotency.key, idempotency.fingerprint, order.id, idempotency.now),
      this.db
        .prepare(
          `INSERT INTO orders (id, user_id, status, total_cents, currency, created_at, updated_at, traceparent)
           SELECT ?, ?, 'pending', ?, ?, ?, ?, ? WHERE ${claimed}`,
        )
        .bind(
          order.id,
          order.userId,
          order.totalCents,
          order.currency,
          order.createdAt,
          order.createdAt,
          order.traceparent,
          ...claim,
        ),
      ...order.items.map((item) =>
        this.db
          .prepare(
            `INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) SELECT ?, ?, ?, ? WHERE ${claimed}`,
          )
          .bind(order.id, item.productId, item.quantity, item.unitPriceCents, ...claim),
      ),
      this.db
        .prepare(`INSERT INTO sagas (order_id, state, steps, updated_at) SELECT ?, 'running', '[]', ? WHERE ${claimed}`)
        .bind(order.id, order.createdAt, ...claim),
      ...this.outbox.stage({
        type: "order.created",
        subject: order.id,
        data: {
          orderId: order.id,
          userId: order.userId,
          items: order.items,
          totalCents: order.totalCents,
          currency: order.currency,
        },
        when: { sql: claimed, params: claim },
      }),
    ];
    const results = await this.db.batch(statements);
    return results[1]?.meta.changes === 1;
  }

  /** Stores the response before it is sent, so a replay returns exactly it. */
  async storeResponse(userId: string, key: string, status: number, body: string): Promise<void> {
    await this.db
      .prepare("UPDATE idempotency_keys SET response_status = ?, response_body = ? WHERE user_id = ? AND key = ?")
      .bind(status, body, userId, key)
      .run();
  }

  /** Forgets a key whose request failed before creating anything, so the client may retry it. */
  async releaseKey(userId: string, key: string, orderId: string): Promise<void> {
    await this.db
      .prepare(
        "DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND order_id = ? AND response_status IS NULL",
      )
      .bind(userId, key, orderId)
      .run();
  }

  async deleteIdempotencyKeysBefore(cutoff: number): Promise<number> {
    const result = await this.db.prepare("DELETE FROM idempotency_keys WHERE created_at < ?").bind(cutoff).run();
    return result.meta.changes;
  }

  async findOrder(id: string): Promise<Order | undefined> {
    const [orders, items] = await this.db.batch<OrderRow | ItemRow>([
      this.db.prepare(`${ORDER_SELECT} WHERE o.id = ?`).bind(id),
      this.db
        .prepare("SELECT order_id, product_id, quantity, unit_price_cents FROM order_items WHERE order_id = ?")
        .bind(id),
    ]);
    const row = orders?.results[0] as OrderRow | undefined;
    return row ? toOrder(row, (items?.results ?? []) as ItemRow[]) : undefined;
  }

  /** A page of orders, newest first; `userId` limits it to one user's orders. */
  async listOrders(options: {
    userId?: string;
    limit: number;
    cursor?: [string, string];
  }): Promise<{ items: Order[]; nextCursor: string | null }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.userId) {
      where.push("o.user_id = ?");
      params.push(options.userId);
    }
    if (options.cursor) {
      where.push("(o.created_at < ? OR (o.created_at = ? AND o.id < ?))");
      params.push(options.cursor[0], options.cursor[0], options.cursor[1]);
    }
    const sql = `${ORDER_SELECT} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY o.created_at DESC, o.id DESC LIMIT ?`;
    const rows = (
      await this.db
        .prepare(sql)
        .bind(...params, options.limit + 1)
        .all<OrderRow>()
    ).results;
    const page = rows.slice(0, options.limit);
    const items = page.length
      ? (
          await this.db
            .prepare(
              `SELECT order_id, product_id, quantity, unit_price_cents FROM order_items WHERE order_id IN (${page.map(() => "?").join(",")})`,
            )
            .bind(...page.map((r) => r.id))
            .all<ItemRow>()
        ).results
      : [];
    const last = page[page.length - 1];
    return {
      items: page.map((row) =>
        toOrder(
          row,
          items.filter((i) => i.order_id === row.id),
        ),
      ),
      nextCursor: rows.length > options.limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }

  /** Pending -> confirmed (the saga's pivot); false if the order is not pending any more. */
  async confirm(orderId: string, now: string): Promise<boolean> {
    const [result] = await this.db.batch([
      this.db
        .prepare("UPDATE orders SET status = 'confirmed', updated_at = ? WHERE id = ? AND status = 'pending'")
        .bind(now, orderId),
      ...this.outbox.stage({ type: "order.confirmed", subject: orderId, data: orderEventData(orderId), when: CHANGED }),
    ]);
    return result?.meta.changes === 1;
  }

  /** Pending -> cancelled with a reason (the saga's compensation). */
  async cancel(orderId: string, reason: CancelReason, now: string): Promise<boolean> {
    return this.#cancelFrom("pending", orderId, reason, now);
  }

  /** One status write to `cancelled` with its order.cancelled event. */
  async #cancelFrom(status: "pending" | "confirmed", orderId: string, reason: CancelReason, now: string) {
    const [result] = await this.db.batch([
      this.db
        .prepare("UPDATE orders SET status = 'cancelled', reason = ?, updated_at = ? WHERE id = ? AND status = ?")
        .bind(reason, now, orderId, status),
      ...this.outbox.stage({ type: "order.cancelled", subject: orderId, data: orderEventData(orderId), when: CHANGED }),
    ]);
    return result?.meta.changes === 1;
  }

  /** Confirmed -> shipped, only when the saga completed. */
  async ship(orderId: string, trackingNumber: string, now: string): Promise<boolean> {
    const [result] = await this.db.batch([
      this.db
        .prepare(
          `UPDATE orders SET status = 'shipped', tracking_number = ?, updated_at = ?
           WHERE id = ? AND status = 'confirmed' AND EXISTS (SELECT 1 FROM sagas WHERE order_id = ? AND state = 'completed')`,
        )
        .bind(trackingNumber, now, orderId, orderId),
      ...this.outbox.stage({
        type: "order.shipped",
        subject: orderId,
        data: {
          sql: "SELECT json_object('orderId', id, 'userId', user_id, 'trackingNumber', tracking_number) FROM orders WHERE id = ?",
          params: [orderId],
        },
        when: CHANGED,
      }),
    ]);
    return result?.meta.changes === 1;
  }

  /**
   * A saga's own event (order.saga.*), written once by its id however often the saga asks (the
   * catalogue's schema checks the data as it is staged).
   */
  async recordSagaEvent(id: string, type: SagaEventType, data: SagaEventData): Promise<void> {
    await this.db.batch(this.outbox.stage({ id, type, subject: data.orderId, data: data as EventData<SagaEventType> }));
  }

  /** The saga object's projection; `revision` orders concurrent writes (older ones are dropped). */
  async saveSaga(orderId: string, saga: SagaView, revision: number, now: string): Promise<void> {
    await this.db
      .prepare(
        "UPDATE sagas SET state = ?, steps = ?, revision = ?, updated_at = ? WHERE order_id = ? AND revision < ?",
      )
      .bind(saga.state, JSON.stringify(saga.steps), revision, now, orderId, revision)
      .run();
  }

  /** What the saga needs to run an order, rebuilt from orders-db (for the sweep). */
  async sagaPlan(orderId: string): Promise<SagaPlan | undefined> {
    const order = await this.findOrder(orderId);
    if (!order) return undefined;
    const trace = await this.db
      .prepare("SELECT traceparent FROM orders WHERE id = ?")
      .bind(orderId)
      .first<{ traceparent: string | null }>();
    return {
      traceparent: trace?.traceparent ?? null,
      orderId,
      userId: order.userId,
      lines: order.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
      amountCents: order.totalCents,
      currency: order.currency,
    };
  }

  /** Confirmed -> cancelled for a refund; false if it shipped (or is not confirmed) first. */
  async cancelConfirmed(orderId: string, reason: CancelReason, now: string): Promise<boolean> {
    return this.#cancelFrom("confirmed", orderId, reason, now);
  }

  async orderStatus(orderId: string): Promise<OrderStatus | undefined> {
    const row = await this.db
      .prepare("SELECT status FROM orders WHERE id = ?")
      .bind(orderId)
      .first<{ status: OrderStatus }>();
    return row?.status;
  }

  async listSagas(options: { state?: SagaState; limit: number; cursor?: [string, string] }): Promise<{
    items: { orderId: string; state: SagaState; status: OrderStatus; updatedAt: string }[];
    nextCursor: string | null;
  }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.state) {
      where.push("s.state = ?");
      params.push(options.state);
    }
    if (options.cursor) {
      where.push("(s.updated_at < ? OR (s.updated_at = ? AND s.order_id < ?))");
      params.push(options.cursor[0], options.cursor[0], options.cursor[1]);
    }
    const rows = (
      await this.db
        .prepare(
          `SELECT s.order_id, s.state, o.status, s.updated_at FROM sagas s JOIN orders o ON o.id = s.order_id
           ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY s.updated_at DESC, s.order_id DESC LIMIT ?`,
        )
        .bind(...params, options.limit + 1)
        .all<{ order_id: string; state: SagaState; status: OrderStatus; updated_at: string }>()
    ).results;
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({ orderId: r.order_id, state: r.state, status: r.status, updatedAt: r.updated_at })),
      nextCursor: rows.length > options.limit && last ? encodeCursor(last.updated_at, last.order_id) : null,
    };
  }

  /**
   * Orders cancelled by a person after confirmation whose saga still goes forward or has completed
   * (its projection says `running` or `completed`): the request for the refund failed, or a lost
   * confirm is being re-issued behind the cancel. The sweep asks the saga for the refund again. A
   * page after `after` (an order id), in id order.
   */
  async unrefundedCancellations(
    olderThan: string,
    limit: number,
    after = "",
  ): Promise<{ orderId: string; reason: CancelReason }[]> {
    const rows = await this.db
      .prepare(
        `SELECT o.id, o.reason FROM orders o JOIN sagas s ON s.order_id = o.id
         WHERE o.status = 'cancelled' AND o.updated_at < ? AND s.state IN ('running', 'completed') AND s.revision > 0
           AND o.reason IN ('cancelled_by_customer', 'cancelled_by_admin') AND o.id > ?
         ORDER BY o.id LIMIT ?`,
      )
      .bind(olderThan, after, limit)
      .all<{ id: string; reason: CancelReason }>();
    return rows.results.map((r) => ({ orderId: r.id, reason: r.reason }));
  }

  /**
   * Pending orders placed before `olderThan` whose saga never started (its projection was never
   * written): the start after placing failed. A page after `after` (an order id), in id order.
   */
  async unstartedOrders(olderThan: string, limit: number, after = ""): Promise<string[]> {
    const rows = await this.db
      .prepare(
        `SELECT o.id FROM sagas s JOIN orders o ON o.id = s.order_id
         WHERE s.revision = 0 AND s.order_id > ? AND o.status = 'pending' AND o.created_at < ?
         ORDER BY s.order_id LIMIT ?`,
      )
      .bind(after, olderThan, limit)
      .all<{ id: string }>();
    return rows.results.map((r) => r.id);
  }

  /** The injected faults of the saga's dependencies. */
  async rpcFaults(): Promise<RpcFaults> {
    const rows = await this.db
      .prepare("SELECT target, spec FROM faults")
      .all<{ target: RpcFaultTarget; spec: string }>();
    return Object.fromEntries(rows.results.map((r) => [r.target, JSON.parse(r.spec) as RpcFaultSpec]));
  }

  /** Each target given replaces its spec; an empty (or all-zero) spec clears it. */
  async updateRpcFaults(update: RpcFaults, now: string): Promise<RpcFaults> {
    const statements = Object.entries(update).map(([target, spec]) =>
      isEmptyRpcFaultSpec(spec)
        ? this.db.prepare("DELETE FROM faults WHERE target = ?").bind(target)
        : this.db
            .prepare(
              "INSERT INTO faults (target, spec, updated_at) VALUES (?, ?, ?) ON CONFLICT (target) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
            )
            .bind(target, JSON.stringify(spec), now),
    );
    if (statements.length > 0) await this.db.batch(statements);
    return this.rpcFaults();
  }
}
