import type { Outbox, Sql } from "#queues/outbox";
import type { OrderLine, ProductPatch, ProductQuote, StockLevels } from "#shared/contracts/catalog";
import type { ListPosition } from "./cursor";
import type { StoredState } from "./reservation-rules";

/**
 * All SQL of shop-catalog: prepared statements with bound parameters only. Every stock change is
 * one D1 batch (the batch is the transaction) whose statements are conditional on the stored state
 * of the order's reservation, so a duplicate or concurrent call finds nothing left to do. Each
 * change stages its event (queues/outbox.ts) in that batch, under the same condition, so a call
 * that changed nothing raises nothing.
 */

interface ProductRow {
  id: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  available: number;
  reserved: number;
  sold: number;
  stocked: number;
  created_at: string;
}

export interface StoredProduct {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  available: number;
  reserved: number;
  sold: number;
  stocked: number;
  createdAt: string;
}

function toStored(row: ProductRow): StoredProduct {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    priceCents: row.price_cents,
    currency: row.currency,
    available: row.available,
    reserved: row.reserved,
    sold: row.sold,
    stocked: row.stocked,
    createdAt: row.created_at,
  };
}

const PRODUCT_COLUMNS = "id, name, description, price_cents, currency, available, reserved, sold, stocked, created_at";

interface ReservationRow {
  state: StoredState;
  lines_key: string | null;
  attempt: string | null;
}

export type ReserveOutcome =
  /** This call reserved every line. */
  | { kind: "reserved" }
  /** An earlier call for the order decided; its stored outcome stands. */
  | { kind: "replay"; state: StoredState; linesKey: string | null }
  /** Some line was short: nothing was reserved, and the failure is recorded. */
  | { kind: "short"; shortfalls: { productId: string; available: number; wanted: number }[] }
  | { kind: "unknown_products"; productIds: string[] };

/**
 * The stock moves of the transitions after a reservation, the state each one requires, and the
 * event it raises (`released`: the `from` of stock.released).
 */
const TRANSITIONS = {
  commit: {
    from: "reserved",
    to: "committed",
    set: "reserved = reserved - l.quantity, sold = sold + l.quantity",
    event: "stock.committed",
    released: null,
  },
  release: {
    from: "reserved",
    to: "released",
    set: "reserved = reserved - l.quantity, available = available + l.quantity",
    event: "stock.released",
    released: "reserved",
  },
  return: {
    from: "committed",
    to: "returned",
    set: "sold = sold - l.quantity, available = available + l.quantity",
    event: "stock.released",
    released: "committed",
  },
} as const satisfies Record<
  string,
  {
    from: StoredState;
    to: StoredState;
    set: string;
    event: "stock.committed" | "stock.released";
    released: "reserved" | "committed" | null;
  }
>;

/** Stage condition: the statement just before it in the batch changed a row. */
const CHANGED: Sql = { sql: "changes() = 1", params: [] };

/** The data of product.updated, as the row stands inside the transaction (after the change). */
const productUpdatedData = (id: string): Sql => ({
  sql: `SELECT json_object('productId', id, 'name', name, 'priceCents', price_cents, 'currency', currency,
          'available', available, 'stocked', stocked) FROM products WHERE id = ?`,
  params: [id],
});

/**
 * The data of a stock event after a reservation: its stored lines (sorted by product), and for
 * stock.released where they went back from.
 */
function stockEventData(orderId: string, released: "reserved" | "committed" | null): Sql {
  const lines = `json((SELECT json_group_array(json_object('productId', product_id, 'quantity', quantity))
    FROM (SELECT product_id, quantity FROM reservation_lines WHERE order_id = ? ORDER BY product_id)))`;
  return released
    ? { sql: `SELECT json_object('orderId', ?, 'from', ?, 'lines', ${lines})`, params: [orderId, released, orderId] }
    : { sql: `SELECT json_object('orderId', ?, 'lines', ${lines})`, params: [orderId, orderId] };
}

export type Transition = keyof typeof TRANSITIONS;

/** The outcome an earlier call for the order stored (its row was there before this call's). */
function replayOf(row: ReservationRow | undefined): ReserveOutcome {
  if (!row) throw new Error("the reservation row is missing after its batch");
  return { kind: "replay", state: row.state, linesKey: row.lines_key };
}

/** D1 reports a failed constraint in the error message; ours are named in the migration. */
function failedConstraint(error: unknown, name: string): boolean {
  return String(error).includes(name);
}

export class CatalogRepository {
  constructor(
    private readonly db: D1Database,
    private readonly outbox: Outbox,
  ) {}

  /** Inserts a new product with product.created (a new id: the insert either happens or throws). */
  async insertProduct(product: StoredProduct): Promise<void> {
    await this.db.batch([
      this.db
        .prepare(
          `INSERT INTO products (id, name, description, price_cents, currency, available, reserved, sold, stocked, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?6, ?7, ?7)`,
        )
        .bind(
          product.id,
          product.name,
          product.description,
          product.priceCents,
          product.currency,
          product.available,
          product.createdAt,
        ),
      ...this.outbox.stage({
        type: "product.created",
        subject: product.id,
        data: {
          productId: product.id,
          name: product.name,
          priceCents: product.priceCents,
          currency: product.currency,
          stock: product.stocked,
        },
        when: CHANGED,
      }),
    ]);
  }

  async findProduct(id: string): Promise<StoredProduct | undefined> {
    const row = await this.db
      .prepare(`SELECT ${PRODUCT_COLUMNS} FROM products WHERE id = ?`)
      .bind(id)
      .first<ProductRow>();
    return row ? toStored(row) : undefined;
  }

  /** Up to `limit` products, newest first, after `position` (exclusive) when given. */
  async listProducts(limit: number, position?: ListPosition): Promise<StoredProduct[]> {
    const statement = position
      ? this.db
          .prepare(
            `SELECT ${PRODUCT_COLUMNS} FROM products WHERE (created_at, id) < (?1, ?2)
             ORDER BY created_at DESC, id DESC LIMIT ?3`,
          )
          .bind(position.createdAt, position.id, limit)
      : this.db
          .prepare(`SELECT ${PRODUCT_COLUMNS} FROM products ORDER BY created_at DESC, id DESC LIMIT ?1`)
          .bind(limit);
    const { results } = await statement.all<ProductRow>();
    return results.map(toStored);
  }

  /** Applies a patch with product.updated; `undefined` (and no event) for an unknown product. */
  async updateProduct(id: string, patch: ProductPatch, now: string): Promise<StoredProduct | undefined> {
    return this.#updateWithEvent(
      id,
      this.db
        .prepare(
          `UPDATE products SET
           name = CASE WHEN ?1 THEN ?2 ELSE name END,
           description = CASE WHEN ?3 THEN ?4 ELSE description END,
           price_cents = CASE WHEN ?5 THEN ?6 ELSE price_cents END,
           currency = CASE WHEN ?7 THEN ?8 ELSE currency END,
           updated_at = ?9
         WHERE id = ?10 RETURNING ${PRODUCT_COLUMNS}`,
        )
        .bind(
          patch.name !== undefined ? 1 : 0,
          patch.name ?? null,
          patch.description !== undefined ? 1 : 0,
          patch.description ?? null,
          patch.priceCents !== undefined ? 1 : 0,
          patch.priceCents ?? null,
          patch.currency !== undefined ? 1 : 0,
          patch.currency ?? null,
          now,
          id,
        ),
    );
  }

  /** New units are available at once and count towards the stocked total (product.updated). */
  async restock(id: string, quantity: number, now: string): Promise<StoredProduct | undefined> {
    return this.#updateWithEvent(
      id,
      this.db
        .prepare(
          `UPDATE products SET available = available + ?1, stocked = stocked + ?1, updated_at = ?2
           WHERE id = ?3 RETURNING ${PRODUCT_COLUMNS}`,
        )
        .bind(quantity, now, id),
    );
  }

  /** Runs an `UPDATE ... RETURNING` of one product with its product.updated, read after the change. */
  async #updateWithEvent(id: string, update: D1PreparedStatement): Promise<StoredProduct | undefined> {
    const [updated] = await this.db.batch<ProductRow>([
      update,
      ...this.outbox.stage({ type: "product.updated", subject: id, data: productUpdatedData(id), when: CHANGED }),
    ]);
    const row = updated?.results[0];
    return row ? toStored(row) : undefined;
  }

  async stockLevels(id: string): Promise<StockLevels | null> {
    const row = await this.db
      .prepare("SELECT id, available, reserved, sold, stocked FROM products WHERE id = ?")
      .bind(id)
      .first<{ id: string; available: number; reserved: number; sold: number; stocked: number }>();
    return row
      ? { productId: row.id, available: row.available, reserved: row.reserved, sold: row.sold, stocked: row.stocked }
      : null;
  }

  /** Quotes of the products among `ids` that exist (in no particular order). */
  async quotes(ids: readonly string[]): Promise<ProductQuote[]> {
    const { results } = await this.db
      .prepare("SELECT id, name, price_cents, currency FROM products WHERE id IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(ids))
      .all<{ id: string; name: string; price_cents: number; currency: string }>();
    return results.map((row) => ({ id: row.id, name: row.name, priceCents: row.price_cents, currency: row.currency }));
  }

  /**
   * Reserves every line or none, in one batch:
   * 1. claim the order's reservation row with this call's token (a row that exists already wins);
   * 2. insert the lines, 3. move each line's quantity from available to reserved, both only if
   *    this call's token holds the row; 4. stage stock.reserved under the same condition (a replay
   *    or a concurrent loser raises nothing); 5. read the row back.
   * A short line makes step 3 violate `available_not_negative`, which rolls the whole batch back
   * (row and lines included). An unknown product fails the lines' foreign key the same way.
   * Stock is never read before it is written: the constraint decides.
   */
  async reserve(orderId: string, lines: readonly OrderLine[], linesKey: string, now: string): Promise<ReserveOutcome> {
    const attempt = crypto.randomUUID();
    try {
      const results = await this.db.batch<ReservationRow>([
        this.db
          .prepare(
            `INSERT INTO reservations (order_id, state, lines_key, attempt, created_at, updated_at)
             VALUES (?1, 'reserved', ?2, ?3, ?4, ?4) ON CONFLICT (order_id) DO NOTHING`,
          )
          .bind(orderId, linesKey, attempt, now),
        this.db
          .prepare(
            `INSERT INTO reservation_lines (order_id, product_id, quantity)
             SELECT ?1, json_extract(line.value, '$.productId'), json_extract(line.value, '$.quantity')
             FROM json_each(?2) AS line
             WHERE EXISTS (SELECT 1 FROM reservations WHERE order_id = ?1 AND attempt = ?3)`,
          )
          .bind(orderId, JSON.stringify(lines), attempt),
        this.db
          .prepare(
            `UPDATE products SET available = available - l.quantity, reserved = reserved + l.quantity, updated_at = ?3
             FROM reservation_lines AS l
             WHERE l.order_id = ?1 AND l.product_id = products.id
               AND EXISTS (SELECT 1 FROM reservations WHERE order_id = ?1 AND attempt = ?2)`,
          )
          .bind(orderId, attempt, now),
        ...this.outbox.stage({
          type: "stock.reserved",
          subject: orderId,
          data: stockEventData(orderId, null),
          when: {
            sql: "EXISTS (SELECT 1 FROM reservations WHERE order_id = ? AND attempt = ?)",
            params: [orderId, attempt],
          },
        }),
        this.db.prepare("SELECT state, lines_key, attempt FROM reservations WHERE order_id = ?").bind(orderId),
      ]);
      const row = results.at(-1)?.results[0];
      return row?.attempt === attempt ? { kind: "reserved" } : replayOf(row);
    } catch (error) {
      if (failedConstraint(error, "available_not_negative"))
        return this.#recordShortfall(orderId, lines, linesKey, attempt, now);
      if (failedConstraint(error, "FOREIGN KEY constraint failed")) {
        const known = new Set((await this.quotes(lines.map((l) => l.productId))).map((q) => q.id));
        const unknown = lines.map((l) => l.productId).filter((id) => !known.has(id));
        if (unknown.length > 0) return { kind: "unknown_products", productIds: unknown };
      }
      throw error;
    }
  }

  /**
   * Records a short reservation as `failed`, so that a replay of the order gets the same answer,
   * unless a concurrent call for the same order decided first (its outcome then stands).
   */
  async #recordShortfall(
    orderId: string,
    lines: readonly OrderLine[],
    linesKey: string,
    attempt: string,
    now: string,
  ): Promise<ReserveOutcome> {
    const [, read] = await this.db.batch<ReservationRow>([
      this.db
        .prepare(
          `INSERT INTO reservations (order_id, state, lines_key, attempt, created_at, updated_at)
           VALUES (?1, 'failed', ?2, ?3, ?4, ?4) ON CONFLICT (order_id) DO NOTHING`,
        )
        .bind(orderId, linesKey, attempt, now),
      this.db.prepare("SELECT state, lines_key, attempt FROM reservations WHERE order_id = ?").bind(orderId),
    ]);
    const row = read?.results[0];
    if (row?.attempt !== attempt) return replayOf(row);
    // Only to name the short lines in the answer: the constraint decided, not this read.
    const levels = await this.db
      .prepare("SELECT id, available FROM products WHERE id IN (SELECT value FROM json_each(?))")
      .bind(JSON.stringify(lines.map((l) => l.productId)))
      .all<{ id: string; available: number }>();
    const available = new Map(levels.results.map((level) => [level.id, level.available]));
    const shortfalls = lines
      .map((l) => ({ productId: l.productId, available: available.get(l.productId) ?? 0, wanted: l.quantity }))
      .filter((s) => s.available < s.wanted);
    return { kind: "short", shortfalls };
  }

  /**
   * Moves a reservation's stock and flips its state, in one batch: the stock update applies only
   * while the row is still in the required state, and the flip comes last, so of two concurrent
   * calls the second finds the row already flipped and moves nothing. The event is staged right
   * after the flip, on the flip having changed the row, so only the call that moved stock raises it.
   * A release of an order that never reserved leaves an `abandoned` row (and raises nothing), so a
   * reservation arriving late cannot hold stock for an order the saga already gave up. Returns the
   * state the row is in afterwards.
   */
  async transition(orderId: string, transition: Transition, now: string): Promise<StoredState | null> {
    const { from, to, set, event, released } = TRANSITIONS[transition];
    const statements = [
      this.db
        .prepare(
          `UPDATE products SET ${set}, updated_at = ?3
           FROM reservation_lines AS l
           WHERE l.order_id = ?1 AND l.product_id = products.id
             AND EXISTS (SELECT 1 FROM reservations WHERE order_id = ?1 AND state = ?2)`,
        )
        .bind(orderId, from, now),
      this.db
        .prepare("UPDATE reservations SET state = ?3, updated_at = ?4 WHERE order_id = ?1 AND state = ?2")
        .bind(orderId, from, to, now),
      ...this.outbox.stage({ type: event, subject: orderId, data: stockEventData(orderId, released), when: CHANGED }),
    ];
    if (transition === "release") {
      statements.push(
        this.db
          .prepare(
            `INSERT INTO reservations (order_id, state, created_at, updated_at) VALUES (?1, 'abandoned', ?2, ?2)
             ON CONFLICT (order_id) DO NOTHING`,
          )
          .bind(orderId, now),
      );
    }
    statements.push(this.db.prepare("SELECT state FROM reservations WHERE order_id = ?").bind(orderId));
    const results = await this.db.batch<{ state: StoredState }>(statements);
    return results.at(-1)?.results[0]?.state ?? null;
  }
}
