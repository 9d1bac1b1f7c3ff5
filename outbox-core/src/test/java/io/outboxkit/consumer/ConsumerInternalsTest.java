package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.Backoff;
import io.outboxkit.OutboxException;
import io.outboxkit.TableName;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
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
        Backoff.of(initial, max),
        Duration.ofSeconds(30),
        1000,
        100,
        50,
        "outbox-dlq.c",
        () -> {});
  }

  @Test
  void retryDelayDoublesFromInitialUpToMaxAndJitterOnlyLengthensIt() {
    Settings s = settings(Duration.ofSeconds(1), Duration.ofSeconds(60));
    Set<Duration> firstDelays = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      firstDelays.add(s.retryDelay(1));
      assertThat(s.retryDelay(1)).isBetween(Duration.ofSeconds(1), Duration.ofSeconds(2));
      assertThat(s.retryDelay(2)).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(4));
      assertThat(s.retryDelay(3)).isBetween(Duration.ofSeconds(4), Duration.ofSeconds(8));
      assertThat(s.retryDelay(5)).isBetween(Duration.ofSeconds(16), Duration.ofSeconds(32));
      // near and at the maximum: never above it, never below half of it
      assertThat(s.retryDelay(6)).isBetween(Duration.ofSeconds(30), Duration.ofSeconds(60));
      assertThat(s.retryDelay(7)).isBetween(Duration.ofSeconds(30), Duration.ofSeconds(60));
      assertThat(s.retryDelay(1_000)).isBetween(Duration.ofSeconds(30), Duration.ofSeconds(60));
      assertThat(s.retryDelay(Long.MAX_VALUE))
          .isBetween(Duration.ofSeconds(30), Duration.ofSeconds(60));
    }
    assertThat(firstDelays).as("jitter: retries of one outage spread out").hasSizeGreaterThan(10);
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
