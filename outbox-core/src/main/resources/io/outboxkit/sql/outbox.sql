-- The outboxkit outbox table as plain SQL, without placeholders: for psql
-- (psql -v ON_ERROR_STOP=1 -f outbox.sql) or Liquibase (<sqlFile path="io/outboxkit/sql/outbox.sql"
-- splitStatements="false"/>, the file is in outbox-core's jar). It is what OutboxSchema.migrateOutbox's
-- Flyway migrations (io/outboxkit/migration/outbox, V1, V2, ...) create for public.outbox: the
-- UUIDv7 function, the table with every check, and the WAL-message function outboxkit_emit.
-- Another schema or table: replace "public." and the table name "outbox" in "public.outbox" and
-- "outbox_created_at_brin". Create the table either this way or with OutboxSchema.migrateOutbox,
-- not both. PlainOutboxSqlTest keeps this file equal to the migrations.

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

-- The WAL-message outbox mode for writers in any language: builds an outboxkit envelope (version 1,
-- see io.outboxkit.OutboxEnvelope) for one event and emits it as a transactional logical decoding
-- message, committed with the caller's transaction. Returns the event's id (its Nats-Msg-Id).
--   SELECT public.outboxkit_emit('meter', 'm-42', 'ReadingRecorded',
--                                   convert_to('{"kwh":1.25}', 'UTF8'), '{"traceparent":"00-..."}');
CREATE OR REPLACE FUNCTION public.outboxkit_emit(
    aggregate_type text, aggregate_id text, event_type text, payload bytea,
    headers jsonb DEFAULT NULL, prefix text DEFAULT 'outboxkit-events')
RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  event_id uuid := public.outboxkit_uuid_v7();
  h bytea := CASE WHEN headers IS NULL THEN ''::bytea ELSE convert_to(headers::text, 'UTF8') END;
  t bytea := convert_to(aggregate_type, 'UTF8');
  a bytea := convert_to(aggregate_id, 'UTF8');
  e bytea := convert_to(event_type, 'UTF8');
BEGIN
  IF length(aggregate_type) NOT BETWEEN 1 AND 255 OR length(aggregate_id) NOT BETWEEN 1 AND 255
     OR length(event_type) NOT BETWEEN 1 AND 255 THEN
    RAISE EXCEPTION 'outboxkit_emit: aggregate_type, aggregate_id and event_type must be 1-255 characters'
      USING ERRCODE = 'check_violation';
  END IF;
  IF payload IS NULL THEN
    RAISE EXCEPTION 'outboxkit_emit: payload is null' USING ERRCODE = 'not_null_violation';
  END IF;
  IF headers IS NOT NULL AND jsonb_typeof(headers) <> 'object' THEN
    RAISE EXCEPTION 'outboxkit_emit: headers must be a JSON object' USING ERRCODE = 'check_violation';
  END IF;
  PERFORM pg_logical_emit_message(true, prefix,
      convert_to('OBX1', 'UTF8') || int4send(1) || uuid_send(event_id)
      || int4send(octet_length(t)) || t || int4send(octet_length(a)) || a
      || int4send(octet_length(e)) || e || int4send(octet_length(h)) || h
      || int4send(octet_length(payload)) || payload);
  RETURN event_id;
END
$$;
