-- State of the outboxkit CLI, beside the relay's. ${schema}/${offsets} set by the relay and the CLI.

-- Replays (outboxkit replay/backfill, relay reset): one row per run name, so that an interrupted
-- run resumes after the last row it had published and acknowledged.
CREATE TABLE IF NOT EXISTS ${schema}.${offsets}_replays (
  run           text        PRIMARY KEY,
  spec          text        NOT NULL,  -- the range, so that a run is never resumed with another
  stream_seq    bigint      NOT NULL,  -- the stream's last sequence when the run began
  last_table    text,
  last_id       uuid,
  published     bigint      NOT NULL DEFAULT 0,
  skipped       bigint      NOT NULL DEFAULT 0,
  dead_lettered bigint      NOT NULL DEFAULT 0,
  started_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);

-- Redrives of dead letters (outboxkit dlq redrive): one row per dead letter, written before its
-- event is published again, so that a second redrive of it, or one after a crash, publishes
-- nothing twice.
CREATE TABLE IF NOT EXISTS ${schema}.${offsets}_redrives (
  dead_letter   text        PRIMARY KEY,  -- <stream>:<the dead letter's Nats-Msg-Id>
  event_id      text        NOT NULL,
  subject       text        NOT NULL,
  from_seq      bigint      NOT NULL,     -- the stream's next sequence before the publish
  published_seq bigint,
  created_at    timestamptz NOT NULL DEFAULT now(),
  done_at       timestamptz
);
