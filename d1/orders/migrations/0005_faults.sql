-- Injected faults for the saga's calls to catalog and payments (only used where FAULTS_ENABLED = "true").
CREATE TABLE faults (
  target TEXT PRIMARY KEY CHECK (target IN ('catalog', 'payments')),
  spec TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- The sweep finds sagas that never started (revision 0) and cancellations still owed a refund.
CREATE INDEX sagas_unstarted ON sagas (revision, order_id) WHERE revision = 0;
