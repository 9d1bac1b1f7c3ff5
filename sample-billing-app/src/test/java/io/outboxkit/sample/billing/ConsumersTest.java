package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ConsumersTest {
  @Test
  void subjectsMatchNatsWildcards() {
    assertThat(Consumers.matches("outbox.meter.>", "outbox.meter.ReadingRecorded")).isTrue();
    assertThat(Consumers.matches("outbox.meter.>", "outbox.meter")).isFalse();
    assertThat(Consumers.matches("outbox.meter.>", "outbox-dlq.billing")).isFalse();
    assertThat(Consumers.matches("outbox.*.ReadingRecorded", "outbox.meter.ReadingRecorded"))
        .isTrue();
    assertThat(Consumers.matches("outbox.meter.ReadingRecorded", "outbox.meter.ReadingRecorded"))
        .isTrue();
    assertThat(Consumers.matches("outbox.meter.ReadingRecorded", "outbox.meter.Reading")).isFalse();
    assertThat(Consumers.matches("outbox.*", "outbox.meter.x")).isFalse();
  }
}
