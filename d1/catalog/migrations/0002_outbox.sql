-- The transactional outbox (queues/outbox.ts): each event is written in the same batch as the
-- change it reports, sent to the shop-events queue after the commit, and deleted once shop-events
-- confirms it stored it. `event_sequences` keeps the last sequence number of each subject.
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  subject TEXT NOT NULL,
  sequence INTEGER NOT NULL CHECK (sequence > 0),
  -- the envelope exactly as it is sent
  envelope TEXT NOT NULL CHECK (json_valid(envelope)),
  -- epoch milliseconds
  created_at INTEGER NOT NULL,
  sent_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending ON outbox (COALESCE(sent_at, created_at));

CREATE TABLE event_sequences (
  subject TEXT PRIMARY KEY,
  last INTEGER NOT NULL CHECK (last > 0)
);
