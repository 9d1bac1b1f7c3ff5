package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.HeaderValues;
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

  final DeadLetters deadLetters = new DeadLetters("outbox-dlq.relay");
  final RowConverter converter =
      new RowConverter(
          SubjectTemplate.parse("outbox.{aggregate_type}.{event_type}"),
          deadLetters,
          "outboxkit-events",
          ColumnMap.OUTBOXKIT);

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

  OutboundMessage publish(SourceRecord r) {
    return ((RowConverter.Publish) converter.convert(r)).messages().get(0);
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
                "{\"traceparent\":\"00-a-b-01\",\"n\":3}"));
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
  void unicodeValuesTravelEncodedAndDecodeToTheOriginal() {
    String type = "Zähler Süd";
    String event = "Ablesung\r\n🚀";
    OutboundMessage m =
        publish(insert("c", type, event, new byte[1], "{\"note\":\"Grüße\\r\\nStraße 1 \"}"));
    assertThat(m.deadLetterKind()).isNull();
    assertThat(HeaderValues.decode(m.headers().getFirst(OutboxHeaders.AGGREGATE_TYPE)))
        .isEqualTo(type);
    assertThat(HeaderValues.decode(m.headers().getFirst(OutboxHeaders.EVENT_TYPE)))
        .isEqualTo(event);
    assertThat(HeaderValues.decode(m.headers().getFirst("note"))).isEqualTo("Grüße\r\nStraße 1 ");
    assertThat(m.subject()).isEqualTo("outbox.Z%C3%A4hler%20S%C3%BCd.Ablesung%0D%0A%F0%9F%9A%80");
  }

  @Test
  void tooLargeBecomesADeadLetterWithSizeAndWithoutThePayload() {
    OutboundMessage row = publish(insert("c", "meter", "Huge", new byte[2000], null));
    OutboundMessage m = deadLetters.of(row, "payload_too_large", "over 1000 bytes", 1000);
    assertThat(m.subject()).isEqualTo("outbox-dlq.relay");
    assertThat(m.size()).isLessThanOrEqualTo(1000);
    assertThat(m.deadLetterKind()).isEqualTo("payload_too_large");
    assertThat(m.payload()).isEmpty();
    assertThat(m.headers().getFirst(OutboxHeaders.MSG_ID))
        .isEqualTo("dlq-01900000-0000-7000-8000-000000000001");
    assertThat(m.headers().getFirst(OutboxHeaders.OUTBOX_ID))
        .isEqualTo("01900000-0000-7000-8000-000000000001");
    assertThat(m.headers().getFirst(OutboxHeaders.PAYLOAD_SIZE)).isEqualTo("2000");
    assertThat(m.headers().getFirst(OutboxHeaders.ORIGINAL_SUBJECT)).isEqualTo("outbox.meter.Huge");
    assertThat(m.headers().getFirst(OutboxHeaders.ERROR)).isEqualTo("over 1000 bytes");
  }

  @Test
  void deadLettersShrinkToFitEvenATinyLimit() {
    String big = "ü".repeat(255);
    OutboundMessage row =
        publish(insert("c", big, big, new byte[5000], "{\"x\":\"" + "é".repeat(3000) + "\"}"));
    OutboundMessage m = deadLetters.of(row, "payload_too_large", "reason ".repeat(500), 600);
    assertThat(m.size()).isLessThanOrEqualTo(600);
    assertThat(m.headers().getFirst(OutboxHeaders.OUTBOX_ID)).isEqualTo(row.id());
    assertThat(m.headers().getFirst(OutboxHeaders.ERROR_KIND)).isEqualTo("payload_too_large");
  }

  @Test
  void reservedAndOverlongAreDeadLettered() {
    assertThat(
            publish(insert("c", "meter", "E", new byte[1], "{\"Nats-Rollup\":\"all\"}"))
                .deadLetterKind())
        .isEqualTo("reserved_header");
    assertThat(
            publish(insert("c", "meter", "E", new byte[1], "{\"outbox-id\":\"x\"}"))
                .deadLetterKind())
        .isEqualTo("reserved_header");
    String long255 = "€".repeat(255); // 3 UTF-8 bytes each, 9 once encoded in a subject
    OutboundMessage m = publish(insert("c", long255, long255, new byte[1], null));
    assertThat(m.deadLetterKind()).isEqualTo("subject_too_long");
    assertThat(HeaderValues.decode(m.headers().getFirst(OutboxHeaders.AGGREGATE_TYPE)))
        .isEqualTo(long255);
  }

  @Test
  void rowsThatCannotBeMessagesAreDeadLetteredWithTheReason() {
    assertThat(publish(insert("c", "", "E", new byte[1], null)).deadLetterReason())
        .isEqualTo("aggregate_type is empty");
    assertThat(publish(insert("c", "meter", "E", new byte[1], "[1,2]")).deadLetterReason())
        .isEqualTo("headers is not a JSON object");
    assertThat(publish(insert("c", "meter", "E", new byte[1], "{\"a b\":\"x\"}")).deadLetterKind())
        .isEqualTo("invalid_headers");
    assertThat(
            publish(insert("c", "meter", "E", new byte[1], "{\"a\":{\"b\":1}}")).deadLetterReason())
        .isEqualTo("header a is not a string, number or boolean");
  }

  @Test
  void updatesDeletesAndRecordsWithoutARowAreSkipped() {
    assertThat(converter.convert(insert("u", "meter", "E", new byte[1], null)))
        .isEqualTo(new RowConverter.Skip());
    assertThat(converter.convert(insert("d", "meter", "E", new byte[1], null)))
        .isEqualTo(new RowConverter.Skip());
    Schema heartbeat = SchemaBuilder.struct().field("ts_ms", Schema.INT64_SCHEMA).build();
    SourceRecord hb =
        new SourceRecord(
            Map.of(),
            Map.of(),
            "__debezium-heartbeat.outboxkit",
            heartbeat,
            new Struct(heartbeat).put("ts_ms", 1L));
    assertThat(converter.convert(hb)).isEqualTo(new RowConverter.Skip());
  }

  @Test
  void theRelaysOwnLogicalMessageIsACheckpoint() {
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
            .put("message", new Struct(message).put("prefix", RowConverter.CHECKPOINT_PREFIX));
    SourceRecord r = new SourceRecord(Map.of(), Map.of("lsn", 42L), "outboxkit.message", value, v);
    assertThat(converter.convert(r)).isEqualTo(new RowConverter.Checkpoint(42));
    Struct other =
        new Struct(value).put("op", "m").put("message", new Struct(message).put("prefix", "app"));
    assertThat(
            converter.convert(
                new SourceRecord(Map.of(), Map.of(), "outboxkit.message", value, other)))
        .isEqualTo(new RowConverter.Skip());
  }

  @Test
  void aWalMessageEnvelopeBecomesOneMessagePerEvent() {
    Schema message =
        SchemaBuilder.struct()
            .field("prefix", Schema.STRING_SCHEMA)
            .field("content", Schema.OPTIONAL_BYTES_SCHEMA)
            .build();
    Schema value =
        SchemaBuilder.struct()
            .field("op", Schema.STRING_SCHEMA)
            .field("source", SOURCE)
            .field("message", message)
            .build();
    java.util.UUID a = java.util.UUID.randomUUID();
    java.util.UUID b = java.util.UUID.randomUUID();
    byte[] envelope =
        io.outboxkit.OutboxEnvelope.encode(
            java.util.List.of(
                new io.outboxkit.OutboxEnvelope.Entry(
                    a, "Zähler", "m-1", "Read", "{\"x\":\"ü\"}", new byte[] {1}),
                new io.outboxkit.OutboxEnvelope.Entry(
                    b, "meter", "m-1", "Read", "{\"Nats-TTL\":\"1s\"}", new byte[] {2})));
    Struct v =
        new Struct(value)
            .put("op", "m")
            .put("source", new Struct(SOURCE).put("ts_ms", 1L))
            .put(
                "message",
                new Struct(message)
                    .put("prefix", "outboxkit-events")
                    .put("content", ByteBuffer.wrap(envelope)));
    RowConverter.Result r =
        converter.convert(
            new SourceRecord(
                Map.of(), Map.of("lsn", 50L, "lsn_commit", 40L), "outboxkit.message", value, v));
    java.util.List<OutboundMessage> out = ((RowConverter.Publish) r).messages();
    assertThat(out).hasSize(2);
    assertThat(out.get(0).id()).isEqualTo(a.toString());
    assertThat(out.get(0).subject()).isEqualTo("outbox.Z%C3%A4hler.Read");
    assertThat(HeaderValues.decode(out.get(0).headers().getFirst("x"))).isEqualTo("ü");
    assertThat(out.get(0).replayLsn()).isEqualTo(40L);
    assertThat(out.get(1).deadLetterKind()).isEqualTo("reserved_header");

    Struct garbage =
        new Struct(value)
            .put("op", "m")
            .put("source", new Struct(SOURCE).put("ts_ms", 1L))
            .put(
                "message",
                new Struct(message)
                    .put("prefix", "outboxkit-events")
                    .put("content", ByteBuffer.wrap(new byte[] {'n', 'o'})));
    OutboundMessage dlq =
        ((RowConverter.Publish)
                converter.convert(
                    new SourceRecord(
                        Map.of(), Map.of("lsn", 60L), "outboxkit.message", value, garbage)))
            .messages()
            .get(0);
    assertThat(dlq.deadLetterKind()).isEqualTo("invalid_envelope");
    assertThat(dlq.id()).isEqualTo("wal-0/3C");
  }

  @Test
  void aDebeziumStyleRowWithJsonbPayloadIsPublishedAsItsUtf8Text() {
    // Debezium's PostgreSQL connector hands jsonb (and text) over as a String, schema
    // io.debezium.data.Json; uuid as a String too.
    Schema row =
        SchemaBuilder.struct()
            .field("id", SchemaBuilder.string().name("io.debezium.data.Uuid").build())
            .field("aggregatetype", Schema.STRING_SCHEMA)
            .field("aggregateid", Schema.STRING_SCHEMA)
            .field("type", Schema.STRING_SCHEMA)
            .field("payload", SchemaBuilder.string().name("io.debezium.data.Json").optional())
            .optional()
            .build();
    Schema envelope =
        SchemaBuilder.struct()
            .field("before", row)
            .field("after", row)
            .field("source", SOURCE)
            .field("op", Schema.STRING_SCHEMA)
            .build();
    String json = "{\"city\": \"Zürich\", \"note\": \"line 1\\r\\nline 2 \ud83d\udd0c\"}";
    Struct after =
        new Struct(row)
            .put("id", "0b8e7c36-2c1e-4d52-9d2a-51f0e1c0a001")
            .put("aggregatetype", "Grid Zone")
            .put("aggregateid", "feeder-7")
            .put("type", "LoadShed")
            .put("payload", json);
    Struct value =
        new Struct(envelope)
            .put("after", after)
            .put("source", new Struct(SOURCE).put("ts_ms", 1L))
            .put("op", "c");
    RowConverter debezium =
        new RowConverter(
            SubjectTemplate.parse("outbox.{aggregate_type}.{event_type}"),
            deadLetters,
            "outboxkit-events",
            ColumnMap.DEBEZIUM);
    OutboundMessage m =
        ((RowConverter.Publish)
                debezium.convert(
                    new SourceRecord(
                        Map.of(), Map.of(), "outboxkit.public.outbox", envelope, value)))
            .messages()
            .get(0);
    assertThat(m.payload()).isEqualTo(json.getBytes(StandardCharsets.UTF_8));
    assertThat(m.subject()).isEqualTo("outbox.Grid%20Zone.LoadShed");
    assertThat(m.headers().getFirst(OutboxHeaders.MSG_ID))
        .isEqualTo("0b8e7c36-2c1e-4d52-9d2a-51f0e1c0a001");
    assertThat(HeaderValues.decode(m.headers().getFirst(OutboxHeaders.AGGREGATE_TYPE)))
        .isEqualTo("Grid Zone");
    assertThat(m.headers().getFirst(OutboxHeaders.AGGREGATE_ID)).isEqualTo("feeder-7");
    // the outboxkit mapping cannot read this row: a dead letter, not an exception
    OutboundMessage dl =
        ((RowConverter.Publish)
                converter.convert(
                    new SourceRecord(
                        Map.of(), Map.of(), "outboxkit.public.outbox", envelope, value)))
            .messages()
            .get(0);
    assertThat(dl.headers().getFirst(OutboxHeaders.ERROR_KIND)).isEqualTo("conversion_failed");
  }
}
