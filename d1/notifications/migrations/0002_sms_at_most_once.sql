-- SMS is sent at most once (an SMS API takes no idempotency key): its claim writes `sent_at`
-- before the send, and a send that fails after that is recorded here instead of being retried.
-- A failed message is never picked up again.
ALTER TABLE notifications ADD COLUMN failed_at TEXT;
ALTER TABLE notifications ADD COLUMN failure TEXT;
