-- The meter service's write model. The outbox table lives beside it (OutboxSchema.migrateOutbox).

CREATE TABLE meter (
  meter_id      text        PRIMARY KEY,
  account_id    text        NOT NULL,
  feeder_id     text        NOT NULL,
  tariff        text        NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX meter_account_idx ON meter (account_id);
CREATE INDEX meter_feeder_idx ON meter (feeder_id);

-- One reading = the energy (kWh) consumed in the 15 minutes ending at reading_at.
CREATE TABLE reading (
  meter_id    text          NOT NULL REFERENCES meter (meter_id),
  reading_at  timestamptz   NOT NULL,
  kwh         numeric(12,3) NOT NULL CHECK (kwh >= 0),
  recorded_at timestamptz   NOT NULL DEFAULT now(),
  PRIMARY KEY (meter_id, reading_at)
);

CREATE INDEX reading_reading_at_idx ON reading (reading_at);
