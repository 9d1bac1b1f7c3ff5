-- outboxkit reconciler: its runs and every drift it found. ${schema} set by PatternsSchema.migrateReconciler.

-- One run of one reconciliation over its closed windows.
CREATE TABLE ${schema}.reconcile_run (
  id               bigserial   PRIMARY KEY,
  reconciliation   text        NOT NULL,
  instance         text        NOT NULL,
  started_at       timestamptz NOT NULL,
  finished_at      timestamptz,
  windows          int         NOT NULL DEFAULT 0,
  windows_skipped  int         NOT NULL DEFAULT 0,
  keys_compared    bigint      NOT NULL DEFAULT 0,
  drifts_found     int         NOT NULL DEFAULT 0,
  drifts_repaired  int         NOT NULL DEFAULT 0,
  drifts_failed    int         NOT NULL DEFAULT 0,
  error            text
);

CREATE INDEX reconcile_run_name_idx ON ${schema}.reconcile_run (reconciliation, id DESC);

-- One key of one window whose derived value differed from the source of truth. REPAIRED rows
-- commit in the transaction of their repair; FAILED rows after its rollback.
CREATE TABLE ${schema}.reconcile_drift (
  id             bigserial   PRIMARY KEY,
  run_id         bigint      NOT NULL REFERENCES ${schema}.reconcile_run (id),
  reconciliation text        NOT NULL,
  drift_key      text        NOT NULL,
  window_start   timestamptz NOT NULL,
  window_end     timestamptz NOT NULL,
  expected       text,
  actual         text,
  found_at       timestamptz NOT NULL,
  status         text        NOT NULL CHECK (status IN ('REPAIRED', 'FAILED')),
  error          text
);

CREATE INDEX reconcile_drift_name_idx ON ${schema}.reconcile_drift (reconciliation, id DESC);
CREATE INDEX reconcile_drift_run_idx ON ${schema}.reconcile_drift (run_id);
