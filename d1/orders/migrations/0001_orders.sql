-- shop-orders: orders, their lines, idempotency records and the saga index.
CREATE TABLE orders (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'shipped', 'cancelled')),
  reason TEXT CHECK (reason IS NULL OR reason IN ('out_of_stock', 'payment_declined', 'payment_unavailable', 'cancelled_by_customer', 'cancelled_by_admin')),
  total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
  currency TEXT NOT NULL,
  tracking_number TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX orders_by_user ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_by_time ON orders (created_at DESC, id DESC);
CREATE INDEX orders_pending ON orders (status, created_at) WHERE status = 'pending';

CREATE TABLE order_items (
  order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id TEXT NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 100),
  unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, product_id)
);

-- One per (user, key). `response_status` is NULL while the first request is still working.
CREATE TABLE idempotency_keys (
  user_id TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  order_id TEXT NOT NULL,
  response_status INTEGER,
  response_body TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- The saga of each order as last persisted by its OrderSaga object (the object is the truth;
-- this projection lets operators list sagas, since Durable Objects cannot be listed).
CREATE TABLE sagas (
  order_id TEXT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
  state TEXT NOT NULL,
  steps TEXT NOT NULL DEFAULT '[]',
  -- the object's revision of this projection: an older write never overwrites a newer one
  revision INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);
CREATE INDEX sagas_by_state ON sagas (state, updated_at DESC);
