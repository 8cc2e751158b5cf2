-- shop-catalog: products with their stock, and stock reservations per order.

-- Stock lives in four counters: available + reserved + sold = stocked (initial stock plus every
-- restock). The named CHECKs are how a reservation batch learns that a line is short: the
-- statement that would take `available` below zero fails and rolls the whole batch back.
CREATE TABLE products (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
  currency TEXT NOT NULL CHECK (length(currency) = 3),
  available INTEGER NOT NULL CONSTRAINT available_not_negative CHECK (available >= 0),
  reserved INTEGER NOT NULL DEFAULT 0 CONSTRAINT reserved_not_negative CHECK (reserved >= 0),
  sold INTEGER NOT NULL DEFAULT 0 CONSTRAINT sold_not_negative CHECK (sold >= 0),
  stocked INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CONSTRAINT stock_balances CHECK (available + reserved + sold = stocked)
);
-- The list is newest first with a (created_at, id) keyset cursor.
CREATE INDEX products_newest ON products (created_at, id);

-- One row per order that asked for stock, whatever the outcome, so every call is idempotent:
--   reserved -> committed -> returned, or reserved -> released;
--   failed: the reservation was short (nothing held); abandoned: released before any reserve
--   arrived (a late reserve for that order is refused instead of holding stock for nobody).
-- `lines_key` is the canonical list of lines the order asked for: a replay with other lines is a
-- conflict. `attempt` is the token of the call that inserted the row; only that call's batch moves
-- stock.
CREATE TABLE reservations (
  order_id TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('reserved', 'committed', 'released', 'returned', 'failed', 'abandoned')),
  lines_key TEXT,
  attempt TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- The lines of a reservation that held stock; each product at most once per order.
CREATE TABLE reservation_lines (
  order_id TEXT NOT NULL REFERENCES reservations (order_id),
  product_id TEXT NOT NULL REFERENCES products (id),
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, product_id)
);
CREATE INDEX reservation_lines_product ON reservation_lines (product_id);
