package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.OutboxHeaders;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.Test;

/** The conversion of Debezium records, on records shaped as Debezium 3.6 builds them. */
class RowConverterTest {
  static final Schema ROW =
      SchemaBuilder.struct()
          .field("id", Schema.STRING_SCHEMA)
          .field("aggregate_type", Schema.STRING_SCHEMA)
          .field("aggregate_id", Schema.STRING_SCHEMA)
          .field("event_type", Schema.STRING_SCHEMA)
          .field("payload", Schema.OPTIONAL_BYTES_SCHEMA)
          .field("headers", Schema.OPTIONAL_STRING_SCHEMA)
          .optional()
          .build();
  static final Schema SOURCE =
      SchemaBuilder.struct()
          .field("ts_ms", Schema.INT64_SCHEMA)
          .field("ts_us", Schema.OPTIONAL_INT64_SCHEMA)
          .build();
  static final Schema ENVELOPE =
      SchemaBuilder.struct()
          .field("before", ROW)
          .field("after", ROW)
          .field("source", SOURCE)
          .field("op", Schema.STRING_SCHEMA)
          .build();

  final RowConverter converter =
      new RowConverter(
          SubjectTemplate.parse("outbox.{aggregate_type}.{event_type}"), "outbox-dlq.relay");

  static SourceRecord insert(String op, String type, String event, byte[] payload, String headers) {
    Struct row =
        new Struct(ROW)
            .put("id", "01900000-0000-7000-8000-000000000001")
            .put("aggregate_type", type)
            .put("aggregate_id", "m-1")
            .put("event_type", event)
            .put("payload", payload == null ? null : ByteBuffer.wrap(payload))
            .put("headers", headers);
    Struct source =
        new Struct(SOURCE).put("ts_ms", 1_700_000_000_123L).put("ts_us", 1_700_000_000_123_456L);
    Struct value = new Struct(ENVELOPE).put("after", row).put("source", source).put("op", op);
    return new SourceRecord(Map.of(), Map.of(), "outboxkit.public.outbox", ENVELOPE, value);
  }

  OutboundMessage publish(SourceRecord r, long maxPayload) {
    return ((RowConverter.Publish) converter.convert(r, maxPayload)).message();
  }

  @Test
  void anInsertBecomesAMessageWithItsHeadersAndUnchangedPayload() {
    byte[] payload = "{ \"kwh\" : 1.50 }".getBytes(StandardCharsets.UTF_8);
    OutboundMessage m =
        publish(
            insert(
                "c",
                "meter",
                "ReadingRecorded",
                payload,
                "{\"traceparent\":\"00-a-b-01\",\"n\":3}"),
            1 << 20);
    assertThat(m.subject()).isEqualTo("outbox.meter.ReadingRecorded");
    assertThat(m.payload()).isEqualTo(payload);
    assertThat(m.headers().getFirst(OutboxHeaders.MSG_ID))
        .isEqualTo("01900000-0000-7000-8000-000000000001");
    assertThat(m.headers().getFirst(OutboxHeaders.AGGREGATE_TYPE)).isEqualTo("meter");
    assertThat(m.headers().getFirst(OutboxHeaders.AGGREGATE_ID)).isEqualTo("m-1");
    assertThat(m.headers().getFirst(OutboxHeaders.EVENT_TYPE)).isEqualTo("ReadingRecorded");
    assertThat(m.headers().getFirst(OutboxHeaders.COMMIT_TIME)).isEqualTo("1700000000123456");
    assertThat(m.headers().getFirst("traceparent")).isEqualTo("00-a-b-01");
    assertThat(m.headers().getFirst("n")).isEqualTo("3");
    assertThat(m.deadLetterKind()).isNull();
    assertThat(m.commitMicros()).isEqualTo(1_700_000_000_123_456L);
  }

  @Test
  void tooLargeBecomesADeadLetterWithSizeAndWithoutThePayload() {
    OutboundMessage m = publish(insert("c", "meter", "Huge", new byte[2000], null), 1000);
    assertThat(m.subject()).isEqualTo("outbox-dlq.relay");
    assertThat(m.deadLetterKind()).isEqualTo("payload_too_large");
    assertThat(m.payload()).isEmpty();
    assertThat(m.headers().getFirst(OutboxHeaders.MSG_ID))
        .isEqualTo("dlq-01900000-0000-7000-8000-000000000001");
    assertThat(m.headers().getFirst("Outbox-Id")).isEqualTo("01900000-0000-7000-8000-000000000001");
    assertThat(m.headers().getFirst(OutboxHeaders.PAYLOAD_SIZE)).isEqualTo("2000");
    assertThat(m.headers().getFirst(OutboxHeaders.ORIGINAL_SUBJECT)).isEqualTo("outbox.meter.Huge");
    assertThat(m.headers().getFirst(OutboxHeaders.ERROR)).contains("max_payload of 1000 bytes");
  }

  @Test
  void rowsThatCannotBeMessagesAreDeadLetteredWithTheReason() {
    assertThat(publish(insert("c", "", "E", new byte[1], null), 1 << 20).deadLetterReason())
        .isEqualTo("aggregate_type is empty");
    assertThat(publish(insert("c", "meter", "E", new byte[1], "[1,2]"), 1 << 20).deadLetterReason())
        .isEqualTo("headers is not a JSON object");
    assertThat(
            publish(insert("c", "meter", "E", new byte[1], "{\"a b\":\"x\"}"), 1 << 20)
                .deadLetterKind())
        .isEqualTo("invalid_headers");
    assertThat(
            publish(insert("c", "meter", "E", new byte[1], "{\"a\":{\"b\":1}}"), 1 << 20)
                .deadLetterReason())
        .isEqualTo("header a is not a string");
  }

  @Test
  void updatesDeletesAndRecordsWithoutARowAreSkipped() {
    assertThat(converter.convert(insert("u", "meter", "E", new byte[1], null), 1 << 20))
        .isEqualTo(new RowConverter.Skip(false));
    assertThat(converter.convert(insert("d", "meter", "E", new byte[1], null), 1 << 20))
        .isEqualTo(new RowConverter.Skip(false));
    Schema heartbeat = SchemaBuilder.struct().field("ts_ms", Schema.INT64_SCHEMA).build();
    SourceRecord hb =
        new SourceRecord(
            Map.of(),
            Map.of(),
            "__debezium-heartbeat.outboxkit",
            heartbeat,
            new Struct(heartbeat).put("ts_ms", 1L));
    assertThat(converter.convert(hb, 1 << 20)).isEqualTo(new RowConverter.Skip(false));
  }

  @Test
  void theRelaysOwnLogicalMessageIsRecognisedAsItsHeartbeat() {
    Schema message =
        SchemaBuilder.struct()
            .field("prefix", Schema.STRING_SCHEMA)
            .field("content", Schema.OPTIONAL_BYTES_SCHEMA)
            .build();
    Schema value =
        SchemaBuilder.struct().field("op", Schema.STRING_SCHEMA).field("message", message).build();
    Struct v =
        new Struct(value)
            .put("op", "m")
            .put("message", new Struct(message).put("prefix", RowConverter.HEARTBEAT_PREFIX));
    SourceRecord r = new SourceRecord(Map.of(), Map.of(), "outboxkit.message", value, v);
    assertThat(converter.convert(r, 1 << 20)).isEqualTo(new RowConverter.Skip(true));
    Struct other =
        new Struct(value).put("op", "m").put("message", new Struct(message).put("prefix", "app"));
    assertThat(
            converter.convert(
                new SourceRecord(Map.of(), Map.of(), "outboxkit.message", value, other), 1 << 20))
        .isEqualTo(new RowConverter.Skip(false));
  }
}
