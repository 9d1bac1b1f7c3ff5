-- One database per service, each used by the service's own role: the meter service's write model
-- (with its outbox) and the billing service's read models (with its inbox). Neither role is a
-- superuser; each owns the schema its tables are in and the tables its migrations create (Flyway
-- runs as that role), can connect to its own database only, and has no right on the other's
-- tables. Run as a superuser with psql (it uses \connect): by the postgres image on an empty
-- volume (infra/docker-compose.yml), by infra/local/lib.sh (./demo). Replace the passwords.
-- The relay's role is made later, once the meter service has created its outbox table:
-- infra/sql/relay-role-precreated.sql (or relay-role.sql).

-- LOGIN only: no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS.
CREATE ROLE meter_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD 'change-me';
CREATE ROLE billing_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD 'change-me';

CREATE DATABASE meter;
CREATE DATABASE billing;

-- Nobody connects by default (PUBLIC has CONNECT and TEMPORARY on a new database): each service
-- to its own database only. The billing service also needs CREATE on its database: a rebuild of
-- a read model fills shadow tables in a schema of its own and swaps them in (outbox-patterns).
REVOKE ALL ON DATABASE meter FROM PUBLIC;
REVOKE ALL ON DATABASE billing FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE meter TO meter_app;
GRANT CONNECT, TEMPORARY, CREATE ON DATABASE billing TO billing_app;

-- Each service owns the schema public of its database (PostgreSQL 15+ gives CREATE there to the
-- database owner only; before 15 to everyone, hence the REVOKE). Everyone keeps USAGE (the relay
-- reads the publication's table definition).
\connect meter
ALTER SCHEMA public OWNER TO meter_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

\connect billing
ALTER SCHEMA public OWNER TO billing_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
