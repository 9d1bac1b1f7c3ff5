package io.outboxkit.patterns.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.OutboxException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;

class WindowsTest {
  static final Instant NOW = Instant.parse("2025-03-10T10:02:00Z");

  @Test
  void fixedWindowsAreClosedOnlySettleAfterTheirEnd() {
    List<Window> w =
        Windows.fixed(Duration.ofHours(1), Duration.ofMinutes(5), Duration.ofHours(3)).closed(NOW);
    // 10:00 ended 2 minutes ago: still open. 07:00-08:00 ended before the look-back began.
    assertThat(w)
        .containsExactly(
            new Window(
                Instant.parse("2025-03-10T07:00:00Z"), Instant.parse("2025-03-10T08:00:00Z")),
            new Window(
                Instant.parse("2025-03-10T08:00:00Z"), Instant.parse("2025-03-10T09:00:00Z")));
    assertThat(
            Windows.fixed(Duration.ofHours(1), Duration.ofMinutes(1), Duration.ofHours(3))
                .closed(NOW))
        .hasSize(3)
        .last()
        .isEqualTo(
            new Window(
                Instant.parse("2025-03-10T09:00:00Z"), Instant.parse("2025-03-10T10:00:00Z")));
  }

  @Test
  void daysAreUtcDays() {
    List<Window> w =
        Windows.fixed(Duration.ofDays(1), Duration.ZERO, Duration.ofDays(2)).closed(NOW);
    assertThat(w)
        .extracting(Window::start)
        .containsExactly(
            Instant.parse("2025-03-08T00:00:00Z"), Instant.parse("2025-03-09T00:00:00Z"));
  }

  @Test
  void calendarMonthsInAZone() {
    List<Window> w =
        Windows.months(ZoneId.of("Europe/Berlin"), Duration.ofHours(1), Duration.ofDays(60))
            .closed(NOW);
    assertThat(w)
        .containsExactly(
            new Window(
                Instant.parse("2024-12-31T23:00:00Z"), Instant.parse("2025-01-31T23:00:00Z")),
            new Window(
                Instant.parse("2025-01-31T23:00:00Z"), Instant.parse("2025-02-28T23:00:00Z")));
    // March is not over: never compared.
    assertThat(Windows.months(ZoneId.of("UTC"), Duration.ZERO, Duration.ofDays(5)).closed(NOW))
        .isEmpty();
  }

  @Test
  void aWindowMustHaveAStartBeforeItsEnd() {
    assertThatThrownBy(() -> new Window(NOW, NOW))
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("start before its end");
    assertThat(new Window(NOW, NOW.plusSeconds(1)).contains(NOW)).isTrue();
    assertThat(new Window(NOW, NOW.plusSeconds(1)).contains(NOW.plusSeconds(1))).isFalse();
  }

  @Test
  void builderNamesEveryWrongSetting() {
    assertThatThrownBy(
            () ->
                Reconciler.builder()
                    .name("")
                    .schema("Bad-Schema")
                    .window(Duration.ZERO)
                    .batchSize(0)
                    .settle(Duration.ofSeconds(-1))
                    .meterRegistry("not a registry")
                    .build())
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("name is ''")
        .hasMessageContaining("jdbi is missing")
        .hasMessageContaining("reconciliation is missing")
        .hasMessageContaining("Bad-Schema")
        .hasMessageContaining("window is PT0S")
        .hasMessageContaining("batchSize is 0")
        .hasMessageContaining("settle is PT-1S")
        .hasMessageContaining("not a Micrometer MeterRegistry");
  }
}
