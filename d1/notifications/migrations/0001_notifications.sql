-- shop-notifications: its own contact directory, the inbox of events it handled, the messages it
-- owes or sent, and (local sender only) every send call.

-- From user.created / user.updated. `sequence` is that user's event sequence last applied: an
-- older event arriving late never overwrites a newer one.
CREATE TABLE contacts (
  user_id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  name TEXT NOT NULL,
  phone TEXT,
  role TEXT,
  sequence INTEGER NOT NULL CHECK (sequence >= 1),
  updated_at TEXT NOT NULL
);

-- Events already recorded, by id (idempotent consumer). Old rows are deleted by housekeeping; the
-- notifications stay unique by (event_id, channel), so even an old replay cannot send twice.
CREATE TABLE inbox (
  event_id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  -- epoch milliseconds
  processed_at INTEGER NOT NULL
);
CREATE INDEX inbox_by_time ON inbox (processed_at);

-- One message per (event, channel), whatever the redeliveries. A sender claims a row until
-- `claimed_until` (epoch ms) before sending; `sent_at` is set once it was sent.
CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
  template TEXT NOT NULL,
  to_address TEXT NOT NULL,
  subject TEXT CHECK ((channel = 'sms') = (subject IS NULL)),
  body TEXT NOT NULL,
  event_id TEXT NOT NULL,
  order_id TEXT,
  traceparent TEXT,
  created_at TEXT NOT NULL,
  claimed_until INTEGER,
  sent_at TEXT,
  UNIQUE (event_id, channel)
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at DESC, id DESC);

-- Every call of the local sender, one row each: `notification_id` is deliberately not unique,
-- so a message sent twice would show here as two rows.
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  to_address TEXT NOT NULL,
  subject TEXT,
  body TEXT NOT NULL,
  delivered_at TEXT NOT NULL
);
CREATE INDEX deliveries_by_notification ON deliveries (notification_id);
