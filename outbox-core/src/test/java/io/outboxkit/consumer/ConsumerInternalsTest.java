package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.OutboxException;
import io.outboxkit.TableName;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.junit.jupiter.api.Test;

class ConsumerInternalsTest {

  static Settings settings(Duration initial, Duration max) {
    return new Settings(
        "c",
        null,
        null,
        "S",
        null,
        null,
        TableName.DEFAULT_INBOX,
        5,
        initial,
        max,
        Duration.ofSeconds(30),
        1000,
        100,
        50,
        "outbox-dlq.c",
        () -> {});
  }

  @Test
  void backoffDoublesFromInitialUpToMax() {
    Settings s = settings(Duration.ofSeconds(1), Duration.ofSeconds(60));
    assertThat(s.backoff(1)).isEqualTo(Duration.ofSeconds(1));
    assertThat(s.backoff(2)).isEqualTo(Duration.ofSeconds(2));
    assertThat(s.backoff(3)).isEqualTo(Duration.ofSeconds(4));
    assertThat(s.backoff(6)).isEqualTo(Duration.ofSeconds(32));
    assertThat(s.backoff(7)).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.backoff(1_000)).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.backoff(Long.MAX_VALUE)).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void errorHeaderIsOneLineOfAsciiAndBounded() {
    assertThat(MessageProcessor.headerValue("a\r\nb\tc ü")).isEqualTo("a  b c ?");
    String longText = "x".repeat(5000);
    String value = MessageProcessor.headerValue(longText);
    assertThat(value).hasSize(MessageProcessor.MAX_ERROR_LENGTH).endsWith("...");
  }

  @Test
  void commitTimeIsReadFromEpochMicros() {
    assertThat(MessageProcessor.commitTime("1700000000123456"))
        .isEqualTo(Instant.parse("2023-11-14T22:13:20.123456Z"));
    assertThat(MessageProcessor.commitTime(null)).isNull();
    assertThat(MessageProcessor.commitTime("soon")).isNull();
  }

  @Test
  void connectionLossAndRetryableStatesAreTransientConstraintViolationsAreNot() {
    assertThat(MessageProcessor.isTransient(new SQLException("gone", "08006"))).isTrue();
    assertThat(MessageProcessor.isTransient(new SQLException("serialization", "40001"))).isTrue();
    assertThat(MessageProcessor.isTransient(new SQLException("deadlock", "40P01"))).isTrue();
    assertThat(MessageProcessor.isTransient(new SQLException("shutdown", "57P01"))).isTrue();
    assertThat(MessageProcessor.isTransient(new SQLTransientConnectionException("x"))).isTrue();
    assertThat(
            MessageProcessor.isTransient(
                new UnableToExecuteStatementException(new SQLException("gone", "08003"), null)))
        .isTrue();
    assertThat(MessageProcessor.isTransient(new SQLException("duplicate key", "23505"))).isFalse();
    assertThat(MessageProcessor.isTransient(new IllegalStateException("bug"))).isFalse();
  }

  @Test
  void describeAddsTheRootCause() {
    Exception e = new IllegalStateException("apply failed", new SQLException("disk full"));
    assertThat(MessageProcessor.describe(e))
        .isEqualTo("apply failed (caused by java.sql.SQLException: disk full)");
    assertThat(MessageProcessor.describe(new NullPointerException()))
        .isEqualTo("java.lang.NullPointerException");
  }

  @Test
  void subjectsMatchLikeNats() {
    assertThat(Subjects.matches("outbox.>", "outbox.meter.Read")).isTrue();
    assertThat(Subjects.matches("outbox.>", "outbox")).isFalse();
    assertThat(Subjects.matches("outbox.*.Read", "outbox.meter.Read")).isTrue();
    assertThat(Subjects.matches("outbox.*", "outbox.meter.Read")).isFalse();
    assertThat(Subjects.matches(">", "outbox-dlq.billing")).isTrue();
    assertThat(Subjects.matches("outbox.>", "outbox-dlq.billing")).isFalse();
    assertThat(Subjects.validSubject("outbox.>", true)).isTrue();
    assertThat(Subjects.validSubject("outbox.>", false)).isFalse();
    assertThat(Subjects.validSubject("outbox.>.x", true)).isFalse();
    assertThat(Subjects.validSubject("a b", true)).isFalse();
  }

  record Reading(String meterId, double kwh, Instant at) {}

  @Test
  void payloadIsReadAsJsonOrTextAndLeftOutOfToString() {
    InboundEvent event =
        new InboundEvent(
            "id-1",
            "meter",
            "m-1",
            "ReadingRecorded",
            Map.of("traceparent", "00-abc-def-01"),
            "{\"meterId\":\"m-1\",\"kwh\":1.5,\"at\":\"2024-01-01T00:00:00Z\",\"extra\":1}"
                .getBytes(StandardCharsets.UTF_8),
            new InboundEvent.Metadata("outbox.meter.ReadingRecorded", "OUTBOX", 7, 1, null, null));
    assertThat(event.payloadAs(Reading.class))
        .isEqualTo(new Reading("m-1", 1.5, Instant.parse("2024-01-01T00:00:00Z")));
    assertThat(event.payloadAsString()).startsWith("{\"meterId\"");
    assertThat(event.toString()).contains("id-1", "bytes").doesNotContain("meterId");
    assertThatThrownBy(() -> event.payloadAs(Integer.class))
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("payload of event id-1 (ReadingRecorded")
        .hasMessageContaining("cannot be read as java.lang.Integer");
  }
}
