package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadCurveTest {
  static final Instant T = Instant.parse("2025-01-15T18:00:00Z");

  @Test
  void aQuarterHourOfEnergyIsFourTimesItsAveragePowerExactly() {
    assertThat(LoadCurve.averageKw(new BigDecimal("1.234"), Duration.ofMinutes(15)))
        .isEqualTo(new BigDecimal("4.936"));
    assertThat(LoadCurve.averageKw(new BigDecimal("0.000"), Duration.ofMinutes(15)))
        .isEqualByComparingTo("0");
    assertThat(LoadCurve.averageKw(new BigDecimal("2"), Duration.ofHours(1)))
        .isEqualByComparingTo("2");
    assertThat(LoadCurve.averageKw(new BigDecimal("1"), Duration.ofMinutes(30)))
        .isEqualByComparingTo("2");
  }

  @Test
  void theCurveIsInTimeOrderWithIntervalBoundsAndItsPeak() {
    LoadCurve curve =
        LoadCurve.of(
            "f-1",
            List.of(
                new LoadCurve.Interval(T.plusSeconds(900), new BigDecimal("30.500"), 20),
                new LoadCurve.Interval(T, new BigDecimal("12.250"), 20),
                new LoadCurve.Interval(T.plusSeconds(1800), new BigDecimal("7.000"), 19)));

    assertThat(curve.points())
        .extracting(LoadCurve.Point::start)
        .containsExactly(T, T.plusSeconds(900), T.plusSeconds(1800));
    assertThat(curve.points().get(0).end()).isEqualTo(T.plusSeconds(900));
    assertThat(curve.points())
        .extracting(LoadCurve.Point::kw)
        .containsExactly(
            new BigDecimal("49.000"), new BigDecimal("122.000"), new BigDecimal("28.000"));
    assertThat(curve.peak().start()).isEqualTo(T.plusSeconds(900));
    assertThat(curve.peak().readings()).isEqualTo(20);
  }

  @Test
  void anEmptyCurveHasNoPeak() {
    assertThat(LoadCurve.of("f-1", List.of()).peak()).isNull();
  }
}
