-- Meter onboarding (a saga started by the meter service): billing's decision per meter. OPEN: an
-- account was opened for the meter (AccountOpened sent); REJECTED: refused, with the rule's code
-- (MeterRegistrationRejected sent); CLOSED: opened, then cancelled by the meter service
-- (MeterRegistrationCancelled: it had given up on the meter before billing's answer arrived).
CREATE TABLE meter_account (
  meter_id   text        PRIMARY KEY,
  account_id text        NOT NULL,
  feeder_id  text        NOT NULL,
  tariff     text        NOT NULL,
  status     text        NOT NULL CHECK (status IN ('OPEN', 'REJECTED', 'CLOSED')),
  reason     text,
  decided_at timestamptz NOT NULL,
  closed_at  timestamptz
);

CREATE INDEX meter_account_feeder_idx ON meter_account (feeder_id) WHERE status = 'OPEN';
