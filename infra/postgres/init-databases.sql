-- One database per service: the meter service's write model (with its outbox) and the billing
-- service's read models (with its inbox). Run once by the postgres image on an empty volume.
CREATE DATABASE meter;
CREATE DATABASE billing;
