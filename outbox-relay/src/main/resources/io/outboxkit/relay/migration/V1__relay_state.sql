-- The relay's own state, in the source database. ${schema}/${offsets} set by the relay.

-- Debezium's offsets, one row per key, replaced in one transaction after every batch.
CREATE TABLE IF NOT EXISTS ${schema}.${offsets} (
  slot_name    text        NOT NULL,
  offset_key   bytea       NOT NULL,
  offset_value bytea       NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (slot_name, offset_key)
);

-- One row per replication slot the relay has used: lets it tell "first start" from "the slot was
-- dropped" or "the offsets were lost", which must never silently mean "start from now".
CREATE TABLE IF NOT EXISTS ${schema}.${offsets}_slots (
  slot_name   text        PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_lsn pg_lsn,
  publication text        NOT NULL,
  database    text        NOT NULL,
  -- set by the first offset the relay stores for this slot
  first_offset_at timestamptz
);
