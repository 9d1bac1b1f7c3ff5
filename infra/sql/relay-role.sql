-- The outboxkit relay's PostgreSQL role: exactly what it needs, nothing else.
-- Variant 1: the relay creates its publication and its state schema itself
-- (outboxkit.relay.create-publication=true, the default). Run as a superuser (or the database
-- owner) in the database that holds the outbox table; replace the password (or use a password
-- file on the relay: outboxkit.relay.database.password-file).
-- For a database where an administrator creates the publication and the state schema, use
-- relay-role-precreated.sql instead: the relay then needs no CREATE on the database and owns no
-- application table.

-- LOGIN to connect, REPLICATION to create and stream its logical replication slot.
-- No SUPERUSER, CREATEDB, CREATEROLE or BYPASSRLS.
CREATE ROLE outboxkit_relay WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE
  PASSWORD 'change-me';

-- CONNECT to the database (PUBLIC has it by default; infra/postgres/init-databases.sql revokes it).
DO $$ BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO outboxkit_relay', current_database());
END $$;

-- CREATE on the database: for its publication and its state schema (outboxkit.relay_offsets,
-- relay_offsets_slots, relay_offsets_schema_history), which it creates and owns.
DO $$ BEGIN
  EXECUTE format('GRANT CREATE ON DATABASE %I TO outboxkit_relay', current_database());
END $$;

-- Only a table's owner may add it to a publication: the relay owns the outbox table (and no
-- other). Writers keep INSERT (and whatever cleans the outbox DELETE), e.g.:
--   GRANT INSERT, DELETE ON public.outbox TO your_app_role;
ALTER TABLE public.outbox OWNER TO outboxkit_relay;
