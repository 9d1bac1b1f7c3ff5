package io.outboxkit.sample.meter;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

class LoadProfileTest {
  static final ZoneId UTC = ZoneId.of("UTC");
  // A Wednesday.
  static final String DAY = "2025-01-15T";

  static double kw(LoadProfile p, String time) {
    return p.kw(Instant.parse(DAY + time + ":00Z"));
  }

  @Test
  void meterKindsFollowTheirIndex() {
    assertThat(LoadProfile.forMeter(0, 1, UTC).kind()).isEqualTo(LoadProfile.Kind.HOUSEHOLD);
    assertThat(LoadProfile.forMeter(3, 1, UTC).kind()).isEqualTo(LoadProfile.Kind.HOUSEHOLD_EV);
    assertThat(LoadProfile.forMeter(4, 1, UTC).kind()).isEqualTo(LoadProfile.Kind.COMMERCIAL);
  }

  @Test
  void householdsPeakInTheEveningAndAreQuietAtNight() {
    LoadProfile house = LoadProfile.forMeter(0, 7, UTC);
    assertThat(kw(house, "19:15")).isGreaterThan(2 * kw(house, "03:15"));
    assertThat(kw(house, "07:45")).isGreaterThan(kw(house, "03:15"));
    assertThat(kw(house, "19:15")).isGreaterThan(kw(house, "13:15"));
  }

  @Test
  void electricCarsChargeAtNight() {
    LoadProfile ev = LoadProfile.forMeter(3, 7, UTC);
    assertThat(kw(ev, "02:15")).isGreaterThan(5);
    assertThat(kw(ev, "05:15")).isLessThan(3);
  }

  @Test
  void commercialSitesRunInBusinessHoursOnWeekdays() {
    LoadProfile shop = LoadProfile.forMeter(4, 7, UTC);
    assertThat(kw(shop, "11:00")).isGreaterThan(3 * kw(shop, "02:00"));
    double saturdayNoon = shop.kw(Instant.parse("2025-01-18T11:00:00Z"));
    assertThat(kw(shop, "11:00")).isGreaterThan(2 * saturdayNoon);
  }

  @Test
  void readingsAreDeterministicNonNegativeAndToTheWattHour() {
    for (int m = 0; m < 50; m++) {
      LoadProfile p = LoadProfile.forMeter(m, 42, UTC);
      for (int q = 0; q < 96; q++) {
        Instant at = Instant.parse("2025-01-15T00:00:00Z").plusSeconds(900L * q);
        BigDecimal kwh = p.kwh(at);
        assertThat(kwh.signum()).isGreaterThanOrEqualTo(0);
        assertThat(kwh.scale()).isEqualTo(3);
        assertThat(kwh).isEqualTo(LoadProfile.forMeter(m, 42, UTC).kwh(at));
        assertThat(kwh).isLessThan(new BigDecimal("500"));
      }
    }
  }

  @Test
  void theCurveFollowsLocalTime() {
    LoadProfile utc = LoadProfile.forMeter(0, 7, UTC);
    LoadProfile tokyo = LoadProfile.forMeter(0, 7, ZoneId.of("Asia/Tokyo"));
    // 19:15 in Tokyo is 10:15 UTC.
    assertThat(tokyo.kw(Instant.parse(DAY + "10:15:00Z")))
        .isGreaterThan(utc.kw(Instant.parse(DAY + "10:15:00Z")));
  }
}
