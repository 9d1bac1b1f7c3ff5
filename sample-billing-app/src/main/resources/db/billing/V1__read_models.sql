-- The billing service's read models (CQRS): fed only by events, separate from the meter service's
-- write model. The consumers' inbox table lives beside them (OutboxSchema.migrateInbox).

-- Reference data: the time-of-use tariffs the meter events name. Peak hours are
-- [peak_from_hour, peak_to_hour) local time in zone; equal hours mean a flat tariff.
CREATE TABLE tariff (
  code           text          PRIMARY KEY,
  zone           text          NOT NULL,
  peak_from_hour int           NOT NULL CHECK (peak_from_hour BETWEEN 0 AND 23),
  peak_to_hour   int           NOT NULL CHECK (peak_to_hour BETWEEN 0 AND 24),
  peak_price     numeric(12,5) NOT NULL CHECK (peak_price >= 0),
  off_peak_price numeric(12,5) NOT NULL CHECK (off_peak_price >= 0),
  currency       text          NOT NULL
);

INSERT INTO tariff VALUES
  ('residential-tou', 'UTC', 17, 21, 0.38, 0.22, 'EUR'),
  ('commercial-tou',  'UTC',  8, 18, 0.30, 0.18, 'EUR');

-- Billing: the meters of each account (from MeterRegistered) ...
CREATE TABLE billing_meter (
  meter_id      text        PRIMARY KEY,
  account_id    text        NOT NULL,
  tariff        text        NOT NULL,
  registered_at timestamptz NOT NULL
);

CREATE INDEX billing_meter_account_idx ON billing_meter (account_id);

-- ... and their energy per billing period (first day of the local month) and band
-- (from ReadingRecorded). Money is computed when a bill is read, never stored.
CREATE TABLE bill_usage (
  account_id        text          NOT NULL,
  period            date          NOT NULL,
  meter_id          text          NOT NULL,
  tariff            text          NOT NULL,
  kwh_peak          numeric(18,3) NOT NULL DEFAULT 0,
  kwh_off_peak      numeric(18,3) NOT NULL DEFAULT 0,
  readings_peak     bigint        NOT NULL DEFAULT 0,
  readings_off_peak bigint        NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, period, meter_id, tariff)
);

-- Grid load: energy per feeder and 15-minute interval [interval_start, interval_start + 15 min).
CREATE TABLE feeder_load (
  feeder_id      text          NOT NULL,
  interval_start timestamptz   NOT NULL,
  kwh            numeric(18,3) NOT NULL,
  readings       bigint        NOT NULL,
  PRIMARY KEY (feeder_id, interval_start)
);

-- How fresh each read model is: updated in the transaction of every applied event.
CREATE TABLE projection_progress (
  consumer          text        PRIMARY KEY,
  events            bigint      NOT NULL,
  last_event_id     text        NOT NULL,
  last_committed_at timestamptz,
  last_applied_at   timestamptz NOT NULL,
  last_lag_ms       bigint
);
