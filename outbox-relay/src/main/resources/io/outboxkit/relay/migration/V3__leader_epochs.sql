-- Standby fencing: the leader epoch of each slot. A relay that takes the slot's lock raises the
-- epoch by one before it streams; every offset it stores checks, in the same transaction, that the
-- epoch is still its own, so a relay that lost the lead (frozen, partitioned) stores nothing.
CREATE TABLE IF NOT EXISTS ${schema}.${offsets}_leaders (
  slot_name text        PRIMARY KEY,
  epoch     bigint      NOT NULL,
  holder    text        NOT NULL,  -- <pid>@<host> of the relay that leads
  since     timestamptz NOT NULL DEFAULT now()
);

-- The epoch of the relay that stored each offset row (null: stored before this migration).
ALTER TABLE ${schema}.${offsets} ADD COLUMN IF NOT EXISTS epoch bigint;
