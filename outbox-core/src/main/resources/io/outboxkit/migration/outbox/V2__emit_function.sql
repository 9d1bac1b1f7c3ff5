-- The WAL-message outbox mode for writers in any language: builds an outboxkit envelope (version 1,
-- see io.outboxkit.OutboxEnvelope) for one event and emits it as a transactional logical decoding
-- message, committed with the caller's transaction. Returns the event's id (its Nats-Msg-Id).
--   SELECT ${schema}.outboxkit_emit('meter', 'm-42', 'ReadingRecorded',
--                                   convert_to('{"kwh":1.25}', 'UTF8'), '{"traceparent":"00-..."}');
CREATE OR REPLACE FUNCTION ${schema}.outboxkit_emit(
    aggregate_type text, aggregate_id text, event_type text, payload bytea,
    headers jsonb DEFAULT NULL, prefix text DEFAULT 'outboxkit-events')
RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  event_id uuid := ${schema}.outboxkit_uuid_v7();
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
