package io.outboxkit.relay;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.nats.client.impl.Headers;
import io.outboxkit.HeaderValues;
import io.outboxkit.OutboxEnvelope;
import io.outboxkit.OutboxException;
import io.outboxkit.OutboxHeaders;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Turns one Debezium record into what the relay does with it: publish an outbox row, dead-letter a
 * row that cannot be published as it is, take a resume point (the relay's own checkpoint message),
 * or skip a record that is none of these. It knows nothing of the server's size limits: the
 * publisher checks sizes at send time.
 *
 * <p>Never throws for a row: whatever goes wrong with one row becomes a dead letter with its
 * reason, so no row can stop the pipeline. Text from the row reaches headers only through {@link
 * HeaderValues#encode}.
 */
final class RowConverter {
  private static final JsonFactory JSON = new JsonFactory();

  /** Prefix of the relay's own logical messages in the WAL: checkpoints and the stop marker. */
  static final String CHECKPOINT_PREFIX = "outboxkit-heartbeat";

  /**
   * The longest subject the relay publishes on, in bytes. NATS refuses a control line ({@code HPUB
   * <subject> <reply> <header size> <total size>}) above its {@code max_control_line} of 4096
   * bytes; 128 of those are left for the rest of the line.
   */
  static final int MAX_SUBJECT_BYTES = 4096 - 128;

  /** What to do with a record. */
  sealed interface Result {}

  /** Not an outbox row: mark nothing, publish nothing. */
  record Skip() implements Result {}

  /** The relay's own checkpoint (or stop marker) at this WAL position: a safe resume point. */
  record Checkpoint(long lsn) implements Result {}

  /** Outbox events to publish (one per row, one or more per WAL message), or dead letters. */
  record Publish(List<OutboundMessage> messages) implements Result {
    static Publish of(OutboundMessage m) {
      return new Publish(List.of(m));
    }
  }

  private static final Skip SKIP = new Skip();

  private final SubjectTemplate subjects;
  private final DeadLetters deadLetters;
  private final String messagePrefix;
  private final ColumnMap columns;

  /**
   * @param messagePrefix the prefix of WAL-message outbox events ({@code Outbox.Mode.WAL_MESSAGE})
   * @param columns which column of a row holds what
   */
  RowConverter(
      SubjectTemplate subjects, DeadLetters deadLetters, String messagePrefix, ColumnMap columns) {
    this.subjects = subjects;
    this.deadLetters = deadLetters;
    this.messagePrefix = messagePrefix;
    this.columns = columns;
  }

  Result convert(SourceRecord record) {
    if (!(record.value() instanceof Struct value)) {
      return SKIP;
    }
    if (value.schema().field("after") == null) {
      String prefix = messagePrefix(record, value);
      if (CHECKPOINT_PREFIX.equals(prefix)) {
        return new Checkpoint(lsn(record.sourceOffset()));
      }
      return messagePrefix.equals(prefix) ? message(record, value) : SKIP;
    }
    String op = value.getString("op");
    if (!"c".equals(op) && !"r".equals(op)) {
      return SKIP;
    }
    try {
      Struct after = value.getStruct("after");
      String id = after.getString(columns.id());
      if (id == null || id.isEmpty()) {
        throw new IllegalStateException("the row has no id");
      }
      return Publish.of(
          event(
              id,
              after.getString(columns.aggregateType()),
              after.getString(columns.aggregateId()),
              after.getString(columns.eventType()),
              // bytea as bytes; jsonb, json and text come as a String: its UTF-8 text
              Buffers.bytes(after.get(columns.payload())),
              columns.headers() == null ? null : after.getString(columns.headers()),
              commitMicros(value.getStruct("source")),
              replayLsn(record.sourceOffset())));
    } catch (RuntimeException e) {
      // A row Debezium decoded in a shape the relay does not expect: it still must not stop us.
      String id = idOf(value, columns);
      return unreadable(record, id, "conversion_failed", "the relay could not read the row", e);
    }
  }

  /** A WAL-message outbox event: an envelope of one or more events. */
  private Result message(SourceRecord record, Struct value) {
    long replay = replayLsn(record.sourceOffset());
    List<OutboxEnvelope.Entry> entries;
    long commitMicros;
    try {
      Struct message = value.getStruct("message");
      byte[] content = Buffers.bytes(message.get("content"));
      entries = OutboxEnvelope.decode(content == null ? new byte[0] : content);
      commitMicros =
          value.schema().field("source") == null ? 0 : commitMicros(value.getStruct("source"));
    } catch (RuntimeException e) {
      return unreadable(
          record, null, "invalid_envelope", "the WAL message is not an outboxkit envelope", e);
    }
    List<OutboundMessage> out = new ArrayList<>(entries.size());
    for (OutboxEnvelope.Entry e : entries) {
      out.add(
          event(
              e.id().toString(),
              e.aggregateType(),
              e.aggregateId(),
              e.eventType(),
              e.payload(),
              e.headersJson(),
              commitMicros,
              replay));
    }
    return new Publish(out);
  }

  private Publish unreadable(
      SourceRecord record, String id, String kind, String what, RuntimeException e) {
    long replay = replayLsn(record.sourceOffset());
    return Publish.of(
        deadLetters.of(
            id != null ? id : "wal-" + OffsetLsn.format(lsn(record.sourceOffset())),
            null,
            routing(null, null, null, 0, replay),
            kind,
            what + ": " + OutboxException.describe(e),
            new byte[0],
            0,
            replay));
  }

  /**
   * One outbox event (a row, or an entry of a WAL message), or its dead letter: the one conversion
   * rule, also used to republish rows from the table (the CLI's replay).
   */
  OutboundMessage event(
      String id,
      String aggregateType,
      String aggregateId,
      String eventType,
      byte[] payload,
      String headerJson,
      long commitMicros,
      long replay) {

    Headers routing = routing(aggregateType, aggregateId, eventType, commitMicros, replay);
    String problem = null;
    String kind = null;
    if (aggregateType == null || aggregateType.isEmpty()) {
      problem = "aggregate_type is empty";
      kind = "invalid_row";
    } else if (aggregateId == null || aggregateId.isEmpty()) {
      problem = "aggregate_id is empty";
      kind = "invalid_row";
    } else if (eventType == null || eventType.isEmpty()) {
      problem = "event_type is empty";
      kind = "invalid_row";
    } else if (payload == null) {
      problem = "payload is null";
      kind = "invalid_row";
    }
    Headers headers = routing;
    if (problem == null && headerJson != null) {
      headers = new Headers(routing);
      HeaderProblem hp = addRowHeaders(headerJson, headers);
      if (hp != null) {
        problem = hp.reason;
        kind = hp.kind;
        headers = routing;
      }
    }
    String subject = problem == null ? subjects.render(aggregateType, eventType) : null;
    if (problem == null) {
      int bytes = subject.getBytes(StandardCharsets.UTF_8).length;
      if (bytes > MAX_SUBJECT_BYTES) {
        problem =
            "the subject is "
                + bytes
                + " bytes long once encoded, over the "
                + MAX_SUBJECT_BYTES
                + " bytes NATS accepts (aggregate_type and event_type become subject tokens;"
                + " characters other than A-Z a-z 0-9 - _ take 3 bytes per UTF-8 byte)";
        kind = "subject_too_long";
        subject = null;
      }
    }
    if (problem != null) {
      return deadLetters.of(id, subject, headers, kind, problem, payload, commitMicros, replay);
    }
    headers.put(OutboxHeaders.MSG_ID, id);
    return new OutboundMessage(id, subject, headers, payload, commitMicros, replay, null, null);
  }

  private static Headers routing(
      String aggregateType, String aggregateId, String eventType, long commitMicros, long replay) {
    Headers h = new Headers();
    if (aggregateType != null) {
      h.put(OutboxHeaders.AGGREGATE_TYPE, HeaderValues.encode(aggregateType));
    }
    if (aggregateId != null) {
      h.put(OutboxHeaders.AGGREGATE_ID, HeaderValues.encode(aggregateId));
    }
    if (eventType != null) {
      h.put(OutboxHeaders.EVENT_TYPE, HeaderValues.encode(eventType));
    }
    if (commitMicros > 0) {
      h.put(OutboxHeaders.COMMIT_TIME, Long.toString(commitMicros));
    }
    if (replay > 0) {
      h.put(OutboxHeaders.REPLAY_LSN, OffsetLsn.format(replay));
    }
    return h;
  }

  private record HeaderProblem(String kind, String reason) {}

  /** Adds the row's headers, values encoded; returns what is wrong with them, or null. */
  private static HeaderProblem addRowHeaders(String json, Headers headers) {
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return new HeaderProblem("invalid_headers", "headers is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        if (t == JsonToken.VALUE_NULL) {
          continue;
        }
        if (!t.isScalarValue()) {
          p.skipChildren();
          return new HeaderProblem(
              "invalid_headers", "header " + name + " is not a string, number or boolean");
        }
        String invalid = invalidName(name);
        if (invalid != null) {
          return new HeaderProblem(
              "invalid_headers", "header name " + name + " cannot be a NATS header: " + invalid);
        }
        if (OutboxHeaders.isReserved(name)) {
          return new HeaderProblem(
              "reserved_header",
              "header "
                  + name
                  + " is reserved (Nats-* headers steer JetStream, Outbox-* are set by the relay):"
                  + " rename it");
        }
        headers.add(name, HeaderValues.encode(p.getText()));
      }
      return null;
    } catch (IOException e) {
      return new HeaderProblem("invalid_headers", "headers is not valid JSON: " + e.getMessage());
    }
  }

  /** Why NATS cannot carry a header of this name, or null. */
  private static String invalidName(String name) {
    if (name.isEmpty()) {
      return "the name is empty";
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 33 || c > 126 || c == ':') {
        return "names are printable ASCII without space or ':'";
      }
    }
    return null;
  }

  private static String idOf(Struct value, ColumnMap columns) {
    try {
      Struct after = value.getStruct("after");
      return after == null ? null : after.getString(columns.id());
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The commit time (epoch µs) in a Debezium source block, or 0. */
  static long commitMicros(Struct source) {
    if (source == null) {
      return 0;
    }
    if (source.schema().field("ts_us") != null) {
      Long us = source.getInt64("ts_us");
      if (us != null) {
        return us;
      }
    }
    Long ms = source.schema().field("ts_ms") == null ? null : source.getInt64("ts_ms");
    return ms == null ? 0 : ms * 1000;
  }

  /** The record's LSN, or -1. */
  static long lsn(Map<String, ?> offset) {
    Object lsn = offset == null ? null : offset.get("lsn");
    return lsn instanceof Number n ? n.longValue() : -1;
  }

  /**
   * Where a replay of this record starts: the last commit (or checkpoint) before its transaction,
   * Debezium's {@code lsn_commit}; its own LSN when Debezium has none yet (the first transaction
   * after a start without stored offsets).
   */
  static long replayLsn(Map<String, ?> offset) {
    Object commit = offset == null ? null : offset.get("lsn_commit");
    return commit instanceof Number n ? n.longValue() : lsn(offset);
  }

  /** The prefix of a logical decoding message record, or null for any other record. */
  private static String messagePrefix(SourceRecord record, Struct v) {
    String topic = record.topic();
    if (topic == null || !topic.endsWith(".message") || v.schema().field("message") == null) {
      return null;
    }
    Struct message = v.getStruct("message");
    return message == null ? null : message.getString("prefix");
  }
}
