package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

class TariffTest {
  static final Tariff EVENING =
      new Tariff(
          "residential-tou",
          ZoneId.of("UTC"),
          17,
          21,
          new BigDecimal("0.38"),
          new BigDecimal("0.22"),
          "EUR");

  static Instant at(String utc) {
    return Instant.parse(utc);
  }

  @Test
  void peakHoursIncludeTheirFirstHourAndExcludeTheirEnd() {
    assertThat(EVENING.band(at("2025-01-15T16:45:00Z"))).isEqualTo(Band.OFF_PEAK);
    assertThat(EVENING.band(at("2025-01-15T17:00:00Z"))).isEqualTo(Band.PEAK);
    assertThat(EVENING.band(at("2025-01-15T20:45:00Z"))).isEqualTo(Band.PEAK);
    assertThat(EVENING.band(at("2025-01-15T21:00:00Z"))).isEqualTo(Band.OFF_PEAK);
  }

  @Test
  void aPeakMayWrapAroundMidnight() {
    Tariff night = new Tariff("n", ZoneId.of("UTC"), 22, 6, BigDecimal.ONE, BigDecimal.ZERO, "EUR");
    assertThat(night.band(at("2025-01-15T23:15:00Z"))).isEqualTo(Band.PEAK);
    assertThat(night.band(at("2025-01-15T05:45:00Z"))).isEqualTo(Band.PEAK);
    assertThat(night.band(at("2025-01-15T06:00:00Z"))).isEqualTo(Band.OFF_PEAK);
    assertThat(night.band(at("2025-01-15T21:45:00Z"))).isEqualTo(Band.OFF_PEAK);
  }

  @Test
  void equalHoursMeanAFlatTariff() {
    Tariff flat = new Tariff("f", ZoneId.of("UTC"), 0, 0, BigDecimal.ONE, BigDecimal.ONE, "EUR");
    for (int h = 0; h < 24; h++) {
      assertThat(flat.band(at("2025-01-15T00:00:00Z").plusSeconds(3600L * h)))
          .isEqualTo(Band.OFF_PEAK);
    }
    Tariff allDay = new Tariff("a", ZoneId.of("UTC"), 0, 24, BigDecimal.ONE, BigDecimal.ONE, "EUR");
    assertThat(allDay.band(at("2025-01-15T23:45:00Z"))).isEqualTo(Band.PEAK);
  }

  @Test
  void bandsAndMonthsFollowTheTariffsZoneAcrossDaylightSaving() {
    Tariff berlin =
        new Tariff("b", ZoneId.of("Europe/Berlin"), 17, 21, BigDecimal.ONE, BigDecimal.ZERO, "EUR");
    // Winter: UTC+1, so 16:00Z is 17:00 local.
    assertThat(berlin.band(at("2025-01-15T16:00:00Z"))).isEqualTo(Band.PEAK);
    assertThat(berlin.band(at("2025-01-15T15:45:00Z"))).isEqualTo(Band.OFF_PEAK);
    // Summer: UTC+2, so 15:00Z is 17:00 local.
    assertThat(berlin.band(at("2025-07-15T15:00:00Z"))).isEqualTo(Band.PEAK);
    assertThat(berlin.band(at("2025-07-15T19:00:00Z"))).isEqualTo(Band.OFF_PEAK);
    // 23:30Z on 31 January is 00:30 on 1 February in Berlin.
    assertThat(berlin.period(at("2025-01-31T23:30:00Z"))).isEqualTo(YearMonth.of(2025, 2));
    assertThat(EVENING.period(at("2025-01-31T23:30:00Z"))).isEqualTo(YearMonth.of(2025, 1));
  }

  @Test
  void quarterHourIntervalsStayInOneLocalHourInHalfHourZones() {
    Tariff india =
        new Tariff("i", ZoneId.of("Asia/Kolkata"), 18, 22, BigDecimal.ONE, BigDecimal.ZERO, "INR");
    // 12:30Z = 18:00 IST: the first peak interval; 12:15Z = 17:45 IST is not.
    assertThat(india.band(at("2025-01-15T12:30:00Z"))).isEqualTo(Band.PEAK);
    assertThat(india.band(at("2025-01-15T12:15:00Z"))).isEqualTo(Band.OFF_PEAK);
  }

  @Test
  void badDefinitionsAreRefused() {
    assertThatThrownBy(
            () -> new Tariff("x", ZoneId.of("UTC"), 25, 3, BigDecimal.ONE, BigDecimal.ONE, "EUR"))
        .hasMessageContaining("peak hours");
    assertThatThrownBy(
            () ->
                new Tariff(
                    "x", ZoneId.of("UTC"), 1, 3, BigDecimal.ONE, new BigDecimal("-1"), "EUR"))
        .hasMessageContaining("negative");
  }
}
