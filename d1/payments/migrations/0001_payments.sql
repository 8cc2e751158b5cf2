-- shop-payments: one payment per order (the truth of what the provider confirmed), and a ledger
-- of every call to the provider.
CREATE TABLE payments (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL UNIQUE,
  amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
  currency TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('authorized', 'declined', 'captured', 'voided', 'refunded')),
  -- the provider endpoint that made the authorisation, and the provider's id for it
  endpoint TEXT NOT NULL,
  provider_ref TEXT UNIQUE,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- One row per provider attempt, including endpoints skipped because their breaker refused.
CREATE TABLE payment_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id TEXT NOT NULL,
  operation TEXT NOT NULL CHECK (operation IN ('authorize', 'capture', 'void', 'refund', 'lookup')),
  endpoint TEXT NOT NULL,
  attempt INTEGER NOT NULL CHECK (attempt >= 1),
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'declined', 'rejected', 'error', 'timeout', 'skipped')),
  breaker_state TEXT NOT NULL CHECK (breaker_state IN ('closed', 'open', 'half_open')),
  duration_ms INTEGER NOT NULL,
  error TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX payment_attempts_by_order ON payment_attempts (order_id, id);
CREATE INDEX payment_attempts_by_time ON payment_attempts (created_at);
