package io.outboxkit.relay;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.nats.client.impl.Headers;
import io.outboxkit.OutboxHeaders;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Turns one Debezium record into what the relay does with it: publish an outbox row, dead-letter a
 * row that cannot be published as it is, or skip a record that is not an outbox insert (heartbeats,
 * other operations). The payload's bytes are passed through as they are.
 */
final class RowConverter {
  private static final JsonFactory JSON = new JsonFactory();
  static final String HEARTBEAT_PREFIX = "outboxkit-heartbeat";

  /** What to do with a record. */
  sealed interface Result {}

  /** Not an outbox row; mark it processed and move on. */
  record Skip(boolean heartbeat) implements Result {}

  /** An outbox row to publish. */
  record Publish(OutboundMessage message) implements Result {}

  private final SubjectTemplate subjects;
  private final String deadLetterSubject;

  RowConverter(SubjectTemplate subjects, String deadLetterSubject) {
    this.subjects = subjects;
    this.deadLetterSubject = deadLetterSubject;
  }

  Result convert(SourceRecord record, long maxPayload) {
    if (!(record.value() instanceof Struct value) || value.schema().field("after") == null) {
      return new Skip(isHeartbeat(record));
    }
    String op = value.getString("op");
    if (!"c".equals(op) && !"r".equals(op)) {
      return new Skip(false);
    }
    Struct after = value.getStruct("after");
    Struct source = value.getStruct("source");
    long commitMicros = commitMicros(source);
    String id = after.getString("id");
    String aggregateType = after.getString("aggregate_type");
    String aggregateId = after.getString("aggregate_id");
    String eventType = after.getString("event_type");
    byte[] payload = bytes(after.get("payload"));
    String headerJson = after.getString("headers");

    Headers headers = new Headers();
    headers.put(OutboxHeaders.MSG_ID, id);
    if (aggregateType != null) {
      headers.put(OutboxHeaders.AGGREGATE_TYPE, aggregateType);
    }
    if (aggregateId != null) {
      headers.put(OutboxHeaders.AGGREGATE_ID, aggregateId);
    }
    if (eventType != null) {
      headers.put(OutboxHeaders.EVENT_TYPE, eventType);
    }
    if (commitMicros > 0) {
      headers.put(OutboxHeaders.COMMIT_TIME, Long.toString(commitMicros));
    }

    String problem = null;
    String kind = null;
    if (aggregateType == null || aggregateType.isEmpty()) {
      problem = "aggregate_type is empty";
      kind = "invalid_row";
    } else if (eventType == null || eventType.isEmpty()) {
      problem = "event_type is empty";
      kind = "invalid_row";
    } else if (payload == null) {
      problem = "payload is null";
      kind = "invalid_row";
    } else if (headerJson != null) {
      problem = addRowHeaders(headerJson, headers);
      kind = problem == null ? null : "invalid_headers";
    }
    String subject = problem == null ? subjects.render(aggregateType, eventType) : null;
    if (problem == null) {
      long size = (long) payload.length + headers.serializedLength();
      if (size > maxPayload) {
        problem =
            "event is "
                + size
                + " bytes with headers, over the NATS server's max_payload of "
                + maxPayload
                + " bytes";
        kind = "payload_too_large";
      }
    }
    if (problem == null) {
      return new Publish(
          new OutboundMessage(id, subject, headers, payload, commitMicros, null, null));
    }
    return new Publish(
        deadLetter(id, headers, subject, problem, kind, payload, maxPayload, commitMicros));
  }

  /**
   * A dead-letter record standing in for a row that cannot be published: the row's headers, the
   * reason, the size, and the payload only when it fits.
   */
  private OutboundMessage deadLetter(
      String id,
      Headers rowHeaders,
      String subject,
      String reason,
      String kind,
      byte[] payload,
      long maxPayload,
      long commitMicros) {
    Headers h = new Headers();
    for (String key : rowHeaders.keySet()) {
      if (!key.equals(OutboxHeaders.MSG_ID)) {
        h.put(key, rowHeaders.get(key));
      }
    }
    h.put(OutboxHeaders.MSG_ID, "dlq-" + id);
    h.put("Outbox-Id", id);
    h.put(OutboxHeaders.ERROR, reason);
    h.put(OutboxHeaders.ERROR_KIND, kind);
    h.put(OutboxHeaders.DEAD_LETTERED_BY, "relay");
    h.put(OutboxHeaders.PAYLOAD_SIZE, Integer.toString(payload == null ? 0 : payload.length));
    if (subject != null) {
      h.put(OutboxHeaders.ORIGINAL_SUBJECT, subject);
    }
    byte[] body =
        payload != null && (long) payload.length + h.serializedLength() <= maxPayload
            ? payload
            : new byte[0];
    return new OutboundMessage(id, deadLetterSubject, h, body, commitMicros, kind, reason);
  }

  /** Adds the row's headers; returns a problem, or null. */
  private static String addRowHeaders(String json, Headers headers) {
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return "headers is not a JSON object";
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        String v;
        if (t == JsonToken.VALUE_STRING) {
          v = p.getText();
        } else if (t.isScalarValue() && t != JsonToken.VALUE_NULL) {
          v = p.getText();
        } else if (t == JsonToken.VALUE_NULL) {
          continue;
        } else {
          return "header " + name + " is not a string";
        }
        try {
          headers.add(name, v);
        } catch (IllegalArgumentException e) {
          return "header " + name + " cannot be a NATS header: " + e.getMessage();
        }
      }
      return null;
    } catch (IOException e) {
      return "headers is not valid JSON: " + e.getMessage();
    }
  }

  private static long commitMicros(Struct source) {
    if (source == null) {
      return 0;
    }
    if (source.schema().field("ts_us") != null) {
      Long us = source.getInt64("ts_us");
      if (us != null) {
        return us;
      }
    }
    Long ms = source.getInt64("ts_ms");
    return ms == null ? 0 : ms * 1000;
  }

  private static byte[] bytes(Object value) {
    if (value instanceof byte[] b) {
      return b;
    }
    if (value instanceof ByteBuffer bb) {
      ByteBuffer d = bb.duplicate();
      byte[] out = new byte[d.remaining()];
      d.get(out);
      return out;
    }
    if (value instanceof String s) {
      return s.getBytes(StandardCharsets.UTF_8);
    }
    return null;
  }

  /** The relay's own logical-message heartbeat (or the shutdown marker) coming through the WAL. */
  private static boolean isHeartbeat(SourceRecord record) {
    String topic = record.topic();
    if (topic == null || !topic.endsWith(".message") || !(record.value() instanceof Struct v)) {
      return false;
    }
    Struct message = v.schema().field("message") == null ? null : v.getStruct("message");
    return message != null && HEARTBEAT_PREFIX.equals(message.getString("prefix"));
  }
}
