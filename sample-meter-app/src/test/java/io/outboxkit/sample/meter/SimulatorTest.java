package io.outboxkit.sample.meter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class SimulatorTest {

  @Test
  void settingsHaveDefaultsAndParseDurations() {
    Simulator.Settings s =
        Simulator.Settings.parse(new String[] {"--meters", "200", "--duration=2m"});
    assertThat(s.meters()).isEqualTo(200);
    assertThat(s.feeders()).isEqualTo(4);
    assertThat(s.duration()).isEqualTo(Duration.ofMinutes(2));
    assertThat(s.batch()).isEqualTo(50);
    assertThat(Simulator.Settings.duration("1500ms")).isEqualTo(Duration.ofMillis(1500));
    assertThat(Simulator.Settings.duration("PT1H")).isEqualTo(Duration.ofHours(1));
    assertThat(Simulator.Settings.parse(new String[] {"--help"})).isNull();
  }

  @Test
  void unknownOrInvalidOptionsAreRefused() {
    assertThatThrownBy(() -> Simulator.Settings.parse(new String[] {"--meterz", "1"}))
        .hasMessageContaining("meterz");
    assertThatThrownBy(() -> Simulator.Settings.parse(new String[] {"--rate", "0"}))
        .hasMessageContaining("rate");
  }

  @Test
  void theRunCoversRateTimesDurationReadingsEndingAtTheLastFullQuarterHour() {
    Simulator.Settings s =
        Simulator.Settings.parse(
            new String[] {"--meters", "100", "--rate", "50", "--duration", "60s"});
    assertThat(s.intervals()).isEqualTo(30); // 3000 readings / 100 meters
    Instant now = Instant.parse("2025-03-10T12:07:31Z");
    Instant first = s.firstReadingAt(now);
    Instant last = first.plus(Duration.ofMinutes(15).multipliedBy(s.intervals() - 1));
    assertThat(last).isEqualTo(Instant.parse("2025-03-10T12:00:00Z"));
    assertThat(first.getEpochSecond() % 900).isZero();
  }
}
