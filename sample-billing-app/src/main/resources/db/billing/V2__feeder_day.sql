-- Background sync, periodic aggregation: a daily summary per feeder, built by a scheduled job
-- (FeederDays) from the grid-load read model once a UTC day is closed, and rebuilt when the load
-- of a closed day changed (a late reading, a repair).
CREATE TABLE feeder_day (
  feeder_id           text          NOT NULL,
  day                 date          NOT NULL,
  kwh                 numeric(18,3) NOT NULL,
  readings            bigint        NOT NULL,
  intervals           int           NOT NULL,
  peak_kw             numeric(18,3) NOT NULL,
  peak_interval_start timestamptz   NOT NULL,
  built_at            timestamptz   NOT NULL,
  PRIMARY KEY (feeder_id, day)
);
