package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NatsSubjectsTest {
  @Test
  void subjectsMatchLikeNats() {
    assertThat(NatsSubjects.matches("outbox.>", "outbox.meter.Read")).isTrue();
    assertThat(NatsSubjects.matches("outbox.>", "outbox")).isFalse();
    assertThat(NatsSubjects.matches("outbox.*.Read", "outbox.meter.Read")).isTrue();
    assertThat(NatsSubjects.matches("outbox.*", "outbox.meter.Read")).isFalse();
    assertThat(NatsSubjects.matches(">", "outbox-dlq.billing")).isTrue();
    assertThat(NatsSubjects.matches("outbox.>", "outbox-dlq.billing")).isFalse();
    assertThat(NatsSubjects.isValidSubject("outbox.>", true)).isTrue();
    assertThat(NatsSubjects.isValidSubject("outbox.>", false)).isFalse();
    assertThat(NatsSubjects.isValidSubject("outbox.>.x", true)).isFalse();
    assertThat(NatsSubjects.isValidSubject("a b", true)).isFalse();
  }

  /** The cases of the billing sample's former copy of the rule. */
  @Test
  void literalAndWildcardFiltersMatchLikeNats() {
    assertThat(NatsSubjects.matches("outbox.meter.>", "outbox.meter.ReadingRecorded")).isTrue();
    assertThat(NatsSubjects.matches("outbox.meter.>", "outbox.meter")).isFalse();
    assertThat(NatsSubjects.matches("outbox.meter.>", "outbox-dlq.billing")).isFalse();
    assertThat(NatsSubjects.matches("outbox.*.ReadingRecorded", "outbox.meter.ReadingRecorded"))
        .isTrue();
    assertThat(NatsSubjects.matches("outbox.meter.ReadingRecorded", "outbox.meter.ReadingRecorded"))
        .isTrue();
    assertThat(NatsSubjects.matches("outbox.meter.ReadingRecorded", "outbox.meter.Reading"))
        .isFalse();
    assertThat(NatsSubjects.matches("outbox.*", "outbox.meter.x")).isFalse();
  }

  @Test
  void streamAndConsumerNames() {
    assertThat(NatsSubjects.isValidName("OUTBOX")).isTrue();
    for (String bad :
        new String[] {"", "OUT.BOX", "a b", "a*", "a>", "a/b", "a\\b", "x".repeat(256)}) {
      assertThat(NatsSubjects.isValidName(bad)).as(bad).isFalse();
    }
  }
}
