package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.NatsSubjects;
import org.junit.jupiter.api.Test;

class SubjectTemplateTest {
  private final SubjectTemplate template =
      SubjectTemplate.parse("outbox.{aggregate_type}.{event_type}");

  @Test
  void plainTypesStayReadable() {
    assertThat(template.render("meter", "ReadingRecorded"))
        .isEqualTo("outbox.meter.ReadingRecorded");
    assertThat(template.render("meter-v2_x", "A-b_C9")).isEqualTo("outbox.meter-v2_x.A-b_C9");
  }

  @Test
  void charactersNatsReservesArePercentEncodedPerUtf8Byte() {
    assertThat(SubjectTemplate.token("billing.v2")).isEqualTo("billing%2Ev2");
    assertThat(SubjectTemplate.token("a*b>c")).isEqualTo("a%2Ab%3Ec");
    assertThat(SubjectTemplate.token("two words\tand\nlines"))
        .isEqualTo("two%20words%09and%0Alines");
    assertThat(SubjectTemplate.token("100%")).isEqualTo("100%25");
    assertThat(SubjectTemplate.token("Zähler")).isEqualTo("Z%C3%A4hler");
    assertThat(SubjectTemplate.token("⚡")).isEqualTo("%E2%9A%A1");
    assertThat(SubjectTemplate.token("😀")).isEqualTo("%F0%9F%98%80");
  }

  @Test
  void theRuleIsReversibleSoDifferentTypesNeverShareASubject() {
    assertThat(SubjectTemplate.token("a.b")).isNotEqualTo(SubjectTemplate.token("a_b"));
    assertThat(SubjectTemplate.token("a%2Eb")).isNotEqualTo(SubjectTemplate.token("a.b"));
    assertThat(template.render("a.b", "c")).isNotEqualTo(template.render("a", "b.c"));
  }

  @Test
  void literalTokensAndPlaceholdersMayBeArranged() {
    SubjectTemplate t = SubjectTemplate.parse("events.{event_type}.from.{aggregate_type}");
    assertThat(t.render("meter", "Read")).isEqualTo("events.Read.from.meter");
    assertThat(t.wildcard()).isEqualTo("events.*.from.*");
  }

  @Test
  void invalidTemplatesAreRefusedWithTheReason() {
    assertThatThrownBy(() -> SubjectTemplate.parse("outbox.{aggregate}"))
        .hasMessageContaining("{aggregate}")
        .hasMessageContaining("not a placeholder");
    assertThatThrownBy(() -> SubjectTemplate.parse("outbox.>")).hasMessageContaining("'>'");
    assertThatThrownBy(() -> SubjectTemplate.parse("outbox..x")).hasMessageContaining("''");
    assertThatThrownBy(() -> SubjectTemplate.parse(" ")).hasMessageContaining("empty");
  }

  @Test
  void coverageOfSubjectsByStreamFilters() {
    assertThat(NatsSubjects.covers("outbox.>", "outbox.*.*")).isTrue();
    assertThat(NatsSubjects.covers("outbox.*.*", "outbox.*.*")).isTrue();
    assertThat(NatsSubjects.covers(">", "outbox.*.*")).isTrue();
    assertThat(NatsSubjects.covers("outbox.meter.*", "outbox.*.*")).isFalse();
    assertThat(NatsSubjects.covers("outbox.*", "outbox.*.*")).isFalse();
    assertThat(NatsSubjects.covers("other.>", "outbox.*.*")).isFalse();
    assertThat(NatsSubjects.covers("outbox-dlq.>", "outbox-dlq.relay")).isTrue();
    assertThat(NatsSubjects.covers("outbox.>", "outbox")).isFalse();
  }
}
