-- outboxkit sagas: one row per saga instance, and its steps. ${schema} set by PatternsSchema.migrateSagas.

-- One saga instance. deadline_at is the durable timeout of the current state: written in the
-- transaction of the step that entered the state, cleared by the step that leaves it, and fired by
-- Saga's scheduler (SELECT ... FOR UPDATE SKIP LOCKED) in a transaction of its own.
CREATE TABLE ${schema}.saga (
  saga_type   text        NOT NULL,
  saga_id     text        NOT NULL,
  state       text        NOT NULL,
  data        jsonb       NOT NULL,
  deadline_at timestamptz,
  version     int         NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (saga_type, saga_id)
);

CREATE INDEX saga_deadline_idx ON ${schema}.saga (deadline_at) WHERE deadline_at IS NOT NULL;
CREATE INDEX saga_state_idx ON ${schema}.saga (saga_type, state);

-- Every step of every saga: seq = the saga's version after the step. A reply type is taken once
-- per saga (saga_step_reply_once): a second message of the same type is a duplicate.
CREATE TABLE ${schema}.saga_step (
  saga_type  text        NOT NULL,
  saga_id    text        NOT NULL,
  seq        int         NOT NULL,
  kind       text        NOT NULL CHECK (kind IN ('BEGIN', 'REPLY', 'DEADLINE')),
  name       text        NOT NULL,
  event_id   text,
  from_state text,
  to_state   text        NOT NULL,
  outcome    text        NOT NULL CHECK (outcome IN ('APPLIED', 'LATE', 'IGNORED')),
  note       text,
  at         timestamptz NOT NULL,
  PRIMARY KEY (saga_type, saga_id, seq),
  FOREIGN KEY (saga_type, saga_id) REFERENCES ${schema}.saga (saga_type, saga_id)
);

CREATE UNIQUE INDEX saga_step_reply_once ON ${schema}.saga_step (saga_type, saga_id, name)
  WHERE kind = 'REPLY';
CREATE INDEX saga_step_outcome_idx ON ${schema}.saga_step (saga_type, outcome, name);
