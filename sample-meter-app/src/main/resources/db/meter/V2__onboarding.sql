-- Meter onboarding (a saga with the billing service): a meter registered in saga mode is PENDING
-- until billing opened an account for it (ACTIVE), rejected it (REJECTED) or did not answer in
-- time (TIMED_OUT). Only ACTIVE meters take readings. Meters registered before sagas are ACTIVE.
ALTER TABLE meter
  ADD COLUMN status text NOT NULL DEFAULT 'ACTIVE'
    CHECK (status IN ('PENDING', 'ACTIVE', 'REJECTED', 'TIMED_OUT')),
  ADD COLUMN status_reason text;
