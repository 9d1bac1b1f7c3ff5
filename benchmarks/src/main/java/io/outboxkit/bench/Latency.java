package io.outboxkit.bench;

import org.HdrHistogram.Histogram;

/** A latency distribution in microseconds (HdrHistogram, 3 significant digits, up to 1 hour). */
final class Latency {
  private static final long MAX_MICROS = 3_600_000_000L;
  private final Histogram histogram = new Histogram(MAX_MICROS, 3);

  synchronized void record(long micros) {
    histogram.recordValue(Math.max(0, Math.min(MAX_MICROS, micros)));
  }

  synchronized Percentiles percentiles() {
    return new Percentiles(
        histogram.getTotalCount(),
        ms(histogram.getValueAtPercentile(50)),
        ms(histogram.getValueAtPercentile(99)),
        ms(histogram.getValueAtPercentile(99.9)),
        ms(histogram.getMaxValue()));
  }

  private static double ms(long micros) {
    return micros / 1000.0;
  }

  /** Milliseconds; {@code count} is how many events were measured. */
  record Percentiles(long count, double p50, double p99, double p999, double max) {}
}
