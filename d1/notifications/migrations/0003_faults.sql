-- Injected faults of the notifications consumer (only used where FAULTS_ENABLED = "true"): with
-- `errorRate` a share of deliveries fails, so a message is retried and, failing every retry,
-- becomes a dead letter as any failing message would.
CREATE TABLE faults (
  target TEXT PRIMARY KEY CHECK (target IN ('notifications')),
  spec TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
