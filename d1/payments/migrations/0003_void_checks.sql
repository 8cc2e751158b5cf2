-- A void that found no authorisation at the provider is checked once more after a delay: the
-- provider may still process an authorisation whose answer we lost (late, or after a timeout).
CREATE TABLE void_checks (
  order_id TEXT PRIMARY KEY,
  due_at TEXT NOT NULL,
  -- lookups that failed so far (the check is retried with a growing delay)
  failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX void_checks_due ON void_checks (due_at);
