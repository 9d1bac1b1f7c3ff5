-- The outboxkit outbox table as plain SQL, without placeholders: for psql
-- (psql -v ON_ERROR_STOP=1 -f outbox.sql) or Liquibase (<sqlFile path="io/outboxkit/sql/outbox.sql"
-- splitStatements="false"/>, the file is in outbox-core's jar). It is the schema of
-- OutboxSchema.migrateOutbox's Flyway migration (io/outboxkit/migration/outbox) for public.outbox,
-- with the UUIDv7 function and every check. Another schema or table: replace "public." and the
-- table name "outbox" in "public.outbox" and "outbox_created_at_brin". Create the table either this
-- way or with OutboxSchema.migrateOutbox, not both. PlainOutboxSqlTest keeps it equal to the
-- migration.

-- UUIDv7 for writers in any language (PostgreSQL 15 has no built-in uuidv7()).
CREATE OR REPLACE FUNCTION public.outboxkit_uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

CREATE TABLE public.outbox (
  id             uuid        PRIMARY KEY DEFAULT public.outboxkit_uuid_v7(),
  aggregate_type text        NOT NULL CHECK (length(aggregate_type) BETWEEN 1 AND 255),
  aggregate_id   text        NOT NULL CHECK (length(aggregate_id) BETWEEN 1 AND 255),
  event_type     text        NOT NULL CHECK (length(event_type) BETWEEN 1 AND 255),
  payload        bytea       NOT NULL,
  headers        jsonb       CHECK (headers IS NULL OR jsonb_typeof(headers) = 'object'),
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- Retention purges by age; BRIN costs almost nothing on an append-only table.
CREATE INDEX outbox_created_at_brin ON public.outbox USING brin (created_at);

COMMENT ON TABLE public.outbox IS
  'outboxkit outbox: insert in the same transaction as the business change; the relay publishes each committed row to NATS JetStream with Nats-Msg-Id = id';
