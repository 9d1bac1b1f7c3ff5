package io.outboxkit.sample.billing;

import io.micronaut.serde.annotation.Serdeable;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/**
 * A feeder's load curve: average power per 15-minute interval.
 *
 * <p>A reading of {@code E} kWh over its 15 minutes contributes an average power of {@code E × 60 /
 * 15 = 4E} kW to its interval; the feeder's power in an interval is the sum over its meters. The
 * multiplication by 4 is exact (kWh carry 3 decimals, so do kW): no rounding.
 *
 * @param feederId the feeder
 * @param points the intervals, in time order
 * @param peak the interval of highest power; null without points
 */
@Serdeable
record LoadCurve(String feederId, List<Point> points, Point peak) {

  /** The length of an interval. */
  static final Duration INTERVAL = Duration.ofMinutes(15);

  /**
   * One interval {@code [start, end)}.
   *
   * @param start start of the interval
   * @param end end of the interval
   * @param kw average power of the feeder over it
   * @param kwh energy of the feeder in it
   * @param readings readings that make it up
   */
  @Serdeable
  record Point(Instant start, Instant end, BigDecimal kw, BigDecimal kwh, long readings) {}

  /** Energy of one interval, as the grid-load read model stores it. */
  record Interval(Instant start, BigDecimal kwh, long readings) {}

  /** Average power, in kW, of {@code kwh} consumed over {@code length}. */
  static BigDecimal averageKw(BigDecimal kwh, Duration length) {
    if (length.equals(INTERVAL)) {
      return kwh.multiply(BigDecimal.valueOf(4));
    }
    return kwh.multiply(BigDecimal.valueOf(3600))
        .divide(
            BigDecimal.valueOf(length.toSeconds()), kwh.scale() + 6, java.math.RoundingMode.HALF_UP)
        .stripTrailingZeros();
  }

  /** The curve of {@code intervals}. */
  static LoadCurve of(String feederId, List<Interval> intervals) {
    List<Point> points =
        intervals.stream()
            .sorted(Comparator.comparing(Interval::start))
            .map(
                i ->
                    new Point(
                        i.start(),
                        i.start().plus(INTERVAL),
                        averageKw(i.kwh(), INTERVAL),
                        i.kwh(),
                        i.readings()))
            .toList();
    Point peak = points.stream().max(Comparator.comparing(Point::kw)).orElse(null);
    return new LoadCurve(feederId, points, peak);
  }
}
