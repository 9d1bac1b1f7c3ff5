package io.outboxkit.sample.billing;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Objects;

/**
 * A time-of-use tariff: one price per kWh in the peak hours, another in all other hours, in the
 * tariff's time zone.
 *
 * <p>Reading semantics: a reading at time {@code t} is the energy of the 15 minutes {@code [t - 15
 * min, t)}. Its band is the band of the local hour its interval <em>starts</em> in, and its billing
 * period is the local month its interval starts in — so the reading at 00:00 on the 1st belongs to
 * the last quarter hour of the previous month, and the one at 17:00 to the hour before a peak that
 * starts at 17. Intervals are aligned to quarter hours, so one never spans two local hours (also in
 * zones offset by 30 or 45 minutes, and across daylight-saving changes).
 *
 * @param code the tariff code carried by the meter events, e.g. {@code residential-tou}
 * @param zone the zone of the peak hours and of the billing months
 * @param peakFromHour first peak hour, 0–23
 * @param peakToHour the hour the peak ends (exclusive), 0–24; smaller than {@code peakFromHour} for
 *     a peak across midnight; equal to it for a flat tariff (no peak)
 * @param peakPrice price per kWh in the peak hours
 * @param offPeakPrice price per kWh in all other hours
 * @param currency ISO 4217 code, e.g. {@code EUR}
 */
record Tariff(
    String code,
    ZoneId zone,
    int peakFromHour,
    int peakToHour,
    BigDecimal peakPrice,
    BigDecimal offPeakPrice,
    String currency) {

  Tariff {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(zone, "zone");
    if (peakFromHour < 0 || peakFromHour > 23 || peakToHour < 0 || peakToHour > 24) {
      throw new IllegalArgumentException(
          "tariff " + code + ": peak hours " + peakFromHour + "-" + peakToHour + " out of 0-24");
    }
    if (peakPrice.signum() < 0 || offPeakPrice.signum() < 0) {
      throw new IllegalArgumentException("tariff " + code + ": negative price");
    }
    Objects.requireNonNull(currency, "currency");
  }

  /** The band of the interval starting at {@code intervalStart}. */
  Band band(Instant intervalStart) {
    int hour = intervalStart.atZone(zone).getHour();
    boolean peak =
        peakFromHour <= peakToHour
            ? hour >= peakFromHour && hour < peakToHour
            : hour >= peakFromHour || hour < peakToHour;
    return peak ? Band.PEAK : Band.OFF_PEAK;
  }

  /** The billing period (local month) of the interval starting at {@code intervalStart}. */
  YearMonth period(Instant intervalStart) {
    ZonedDateTime local = intervalStart.atZone(zone);
    return YearMonth.of(local.getYear(), local.getMonth());
  }

  /** The price per kWh in {@code band}. */
  BigDecimal price(Band band) {
    return band == Band.PEAK ? peakPrice : offPeakPrice;
  }
}
