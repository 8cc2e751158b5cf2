-- shop-events: the event log (every domain event once, by id) and the dead letters.
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  subject TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  occurred_at TEXT NOT NULL,
  traceparent TEXT,
  -- the envelope exactly as it arrived (validated)
  envelope TEXT NOT NULL CHECK (json_valid(envelope)),
  -- epoch milliseconds
  stored_at INTEGER NOT NULL,
  -- set once the event went to every subscriber that wants it
  forwarded_at INTEGER
);
CREATE INDEX events_by_time ON events (occurred_at, id);
CREATE INDEX events_by_type ON events (type, occurred_at, id);
CREATE INDEX events_by_subject ON events (subject, occurred_at, id);

-- Messages a consumer gave up on: from a dead-letter queue, or unreadable ones a consumer recorded.
CREATE TABLE dead_letters (
  id TEXT PRIMARY KEY,
  -- the queue the message failed on, where a redrive sends it back
  queue TEXT NOT NULL,
  message_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  body TEXT NOT NULL,
  failed_at TEXT NOT NULL,
  redriven_at TEXT,
  UNIQUE (queue, message_id)
);
CREATE INDEX dead_letters_by_time ON dead_letters (failed_at, id);
