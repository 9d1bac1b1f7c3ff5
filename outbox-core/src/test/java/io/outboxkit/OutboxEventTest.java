package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class OutboxEventTest {

  @Test
  void emptyFieldsAreRefusedByName() {
    assertThatThrownBy(() -> OutboxEvent.of("", "m-1", "ReadingRecorded", Map.of()))
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("aggregateType is empty");
    assertThatThrownBy(() -> OutboxEvent.of("meter", null, "ReadingRecorded", Map.of()))
        .hasMessageContaining("aggregateId is empty");
    assertThatThrownBy(() -> OutboxEvent.of("meter", "m-1", "", Map.of()))
        .hasMessageContaining("eventType is empty");
  }

  @Test
  void overLongFieldsAreRefusedByName() {
    String tooLong = "x".repeat(256);
    assertThat(OutboxEvent.of("x".repeat(255), "m-1", "e", Map.of()).aggregateType()).hasSize(255);
    assertThatThrownBy(() -> OutboxEvent.of(tooLong, "m-1", "e", Map.of()))
        .hasMessageContaining("aggregateType is 256 characters long; the limit is 255");
    assertThatThrownBy(() -> OutboxEvent.of("meter", "m-1", tooLong, Map.of()))
        .hasMessageContaining("eventType is 256 characters");
  }

  @Test
  void headersThatNatsCannotCarryAreRefused() {
    OutboxEvent event = OutboxEvent.of("meter", "m-1", "ReadingRecorded", Map.of());
    assertThatThrownBy(() -> event.withHeader("bad name", "v"))
        .hasMessageContaining("header name 'bad name'");
    assertThatThrownBy(() -> event.withHeader("a:b", "v")).hasMessageContaining("'a:b'");
    assertThatThrownBy(() -> event.withHeader("Nats-Rollup", "all"))
        .hasMessageContaining("'Nats-Rollup' is reserved");
    assertThatThrownBy(() -> event.withHeader("outbox-id", "x"))
        .hasMessageContaining("'outbox-id' is reserved");
    // Values may hold any text: the relay encodes what NATS cannot carry (HeaderValues).
    assertThat(event.withHeader("note", "line\r\nbreak, Zürich 🚀").headers())
        .containsEntry("note", "line\r\nbreak, Zürich 🚀");
    assertThat(event.withHeader("traceparent", "00-abc-def-01").headers())
        .containsEntry("traceparent", "00-abc-def-01");
  }

  @Test
  void payloadObjectIsWrappedAsJsonUnlessAlreadyAPayload() {
    assertThat(OutboxEvent.of("a", "b", "c", Map.of("k", 1)).payload())
        .isInstanceOf(Payload.Json.class);
    Payload bytes = Payload.bytes(new byte[] {1, 2}, "application/octet-stream");
    assertThat(OutboxEvent.of("a", "b", "c", bytes).payload()).isSameAs(bytes);
  }
}
