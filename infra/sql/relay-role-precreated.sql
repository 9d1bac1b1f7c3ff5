-- The outboxkit relay's PostgreSQL role, for a database where an administrator creates the
-- publication and the relay's state schema (outboxkit.relay.create-publication=false).
-- The relay owns no application table and has no CREATE on the database. Run as a superuser (or
-- the database and outbox table owner) in the database that holds the outbox table; replace the
-- password (or use outboxkit.relay.database.password-file).

-- LOGIN to connect, REPLICATION to create and stream its logical replication slot.
CREATE ROLE outboxkit_relay WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE
  PASSWORD 'change-me';

-- CONNECT to the database (PUBLIC has it by default; infra/postgres/init-databases.sql revokes it).
DO $$ BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO outboxkit_relay', current_database());
END $$;

-- The publication (name: outboxkit.relay.publication-name): inserts of the outbox table only,
-- and (PostgreSQL 15+) only the six columns the relay reads. Before 15, leave out the column list.
CREATE PUBLICATION outboxkit
  FOR TABLE public.outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)
  WITH (publish = 'insert');

-- The schema of the relay's state tables (outboxkit.relay.offsets-table, default
-- outboxkit.relay_offsets), owned by the relay: it creates and migrates its tables there.
CREATE SCHEMA outboxkit AUTHORIZATION outboxkit_relay;
