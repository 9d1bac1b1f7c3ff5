package io.outboxkit.sample.meter;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;

/**
 * Daily consumption curves for the simulator: the average power (kW) of a meter over the 15 minutes
 * ending at a reading's time, and the reading's energy (kWh = kW × 0.25). Deterministic: the same
 * meter, seed and time always give the same value, so a repeated run re-sends identical readings,
 * which the meter service treats as harmless duplicates.
 *
 * <ul>
 *   <li>{@link Kind#HOUSEHOLD}: a small base load, a morning peak around 07:30 (09:30 at weekends)
 *       and a larger evening peak around 19:00;
 *   <li>{@link Kind#HOUSEHOLD_EV}: a household that also charges an electric car at night, 01:00 to
 *       04:00;
 *   <li>{@link Kind#COMMERCIAL}: a night base load and a business-hours plateau, 08:00 to 18:00 on
 *       weekdays.
 * </ul>
 */
record LoadProfile(Kind kind, double scale, long seed, ZoneId zone) {
  /** The kind of site a meter measures. */
  enum Kind {
    HOUSEHOLD,
    HOUSEHOLD_EV,
    COMMERCIAL
  }

  /**
   * The profile of meter number {@code index}: every fifth is commercial, every tenth has an EV.
   */
  static LoadProfile forMeter(int index, long seed, ZoneId zone) {
    Kind kind =
        index % 5 == 4 ? Kind.COMMERCIAL : index % 10 == 3 ? Kind.HOUSEHOLD_EV : Kind.HOUSEHOLD;
    double scale = 0.7 + 0.6 * unit(mix(seed, index, 0x5ca1e));
    return new LoadProfile(kind, scale, mix(seed, index, 0x5eed), zone);
  }

  /** Average kW over the 15 minutes ending at {@code readingAt}. */
  double kw(Instant readingAt) {
    ZonedDateTime local = readingAt.minusSeconds(450).atZone(zone); // middle of the interval
    double h = local.getHour() + local.getMinute() / 60.0 + local.getSecond() / 3600.0;
    boolean weekend =
        local.getDayOfWeek() == DayOfWeek.SATURDAY || local.getDayOfWeek() == DayOfWeek.SUNDAY;
    double kw;
    switch (kind) {
      case COMMERCIAL -> {
        double plateau = weekend ? 0 : 40 * smoothstep(7, 9, h) * (1 - smoothstep(17, 19, h));
        kw = 8 + plateau + 6 * bump(h, 13, 1.5);
      }
      case HOUSEHOLD, HOUSEHOLD_EV -> {
        double morning = weekend ? bump(h, 9.5, 1.2) : bump(h, 7.5, 0.9);
        kw = 0.3 + 1.2 * morning + 2.0 * bump(h, 19, 1.4);
        if (kind == Kind.HOUSEHOLD_EV && h >= 1 && h < 4) {
          kw += 7.2;
        }
      }
      default -> throw new IllegalStateException("unknown kind " + kind);
    }
    double noise = 0.85 + 0.3 * unit(mix(seed, readingAt.getEpochSecond(), 0x7e57));
    return Math.max(0, kw * scale * noise);
  }

  /** The reading at {@code readingAt}: kWh of its 15 minutes, to the Wh, half up. */
  BigDecimal kwh(Instant readingAt) {
    return BigDecimal.valueOf(kw(readingAt) / 4).setScale(3, RoundingMode.HALF_UP);
  }

  private static double bump(double h, double centre, double width) {
    double d = Math.abs(h - centre);
    d = Math.min(d, 24 - d);
    return Math.exp(-(d * d) / (2 * width * width));
  }

  private static double smoothstep(double from, double to, double h) {
    double x = Math.max(0, Math.min(1, (h - from) / (to - from)));
    return x * x * (3 - 2 * x);
  }

  private static long mix(long a, long b, long c) {
    long z = a * 0x9E3779B97F4A7C15L + b * 0xBF58476D1CE4E5B9L + c;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static double unit(long bits) {
    return (bits >>> 11) * 0x1.0p-53;
  }
}
