package io.outboxkit.relay;

import java.util.Arrays;

/**
 * The recent commit → ack latencies and ack counts, for the status page: a ring of one-second slots
 * covering the last {@code windowSeconds}, each with a small log-linear histogram (16 buckets per
 * power of two, so a percentile is at most 1/16 above the true value; values below 16 µs are
 * exact). Recording is a few array writes under a lock; reading merges at most {@code
 * windowSeconds} slots. Memory is fixed: about 2.5 KB per slot.
 *
 * <p>Slots older than the window are ignored when read and reused when written, so the window
 * slides without any timer.
 */
final class LagWindow {
  /** Sub-buckets per power of two. */
  private static final int SUB_BITS = 4;

  private static final int SUB = 1 << SUB_BITS;

  /** Largest power of two tracked: 2^41 µs is about 25 days; larger values count as the top. */
  private static final int MAX_EXPONENT = 41;

  static final int BUCKETS = SUB + (MAX_EXPONENT - SUB_BITS + 1) * SUB;

  /** What the window holds at one moment. */
  record Snapshot(
      int windowSeconds,
      long events,
      long samples,
      long p50Micros,
      long p99Micros,
      long maxMicros,
      double eventsPerSecond,
      int rateSeconds) {}

  private final int windowSeconds;
  private final int rateSeconds;
  private final long createdSecond;
  private final long[] second;
  private final long[] events;
  private final long[] samples;
  private final long[] max;
  private final int[][] counts;

  /**
   * @param windowSeconds how far back percentiles and counts reach
   * @param rateSeconds how many whole seconds the events-per-second rate averages
   * @param nowMillis the current time
   */
  LagWindow(int windowSeconds, int rateSeconds, long nowMillis) {
    if (windowSeconds < 1 || rateSeconds < 1 || rateSeconds >= windowSeconds) {
      throw new IllegalArgumentException(
          "need 1 <= rateSeconds < windowSeconds, got " + rateSeconds + ", " + windowSeconds);
    }
    this.windowSeconds = windowSeconds;
    this.rateSeconds = rateSeconds;
    this.createdSecond = Math.floorDiv(nowMillis, 1000);
    this.second = new long[windowSeconds];
    Arrays.fill(second, Long.MIN_VALUE);
    this.events = new long[windowSeconds];
    this.samples = new long[windowSeconds];
    this.max = new long[windowSeconds];
    this.counts = new int[windowSeconds][BUCKETS];
  }

  /**
   * Counts one acknowledged event at {@code nowMillis}.
   *
   * @param lagMicros its commit → ack latency, or a negative number when unknown (counted as an
   *     event, not as a latency sample)
   */
  synchronized void record(long nowMillis, long lagMicros) {
    long s = Math.floorDiv(nowMillis, 1000);
    int i = (int) Math.floorMod(s, (long) windowSeconds);
    if (second[i] != s) {
      second[i] = s;
      events[i] = 0;
      samples[i] = 0;
      max[i] = 0;
      Arrays.fill(counts[i], 0);
    }
    events[i]++;
    if (lagMicros >= 0) {
      samples[i]++;
      counts[i][bucket(lagMicros)]++;
      if (lagMicros > max[i]) {
        max[i] = lagMicros;
      }
    }
  }

  /** The window as of {@code nowMillis}. */
  synchronized Snapshot snapshot(long nowMillis) {
    long now = Math.floorDiv(nowMillis, 1000);
    long[] merged = new long[BUCKETS];
    long n = 0;
    long sampled = 0;
    long top = 0;
    long recent = 0;
    for (int i = 0; i < windowSeconds; i++) {
      long age = now - second[i];
      if (second[i] == Long.MIN_VALUE || age < 0 || age >= windowSeconds) {
        continue;
      }
      n += events[i];
      if (age >= 1 && age <= rateSeconds) {
        recent += events[i]; // whole seconds only: the current one is still filling
      }
      if (samples[i] > 0) {
        sampled += samples[i];
        top = Math.max(top, max[i]);
        int[] c = counts[i];
        for (int b = 0; b < BUCKETS; b++) {
          merged[b] += c[b];
        }
      }
    }
    int seconds = (int) Math.max(1, Math.min(rateSeconds, now - createdSecond));
    return new Snapshot(
        windowSeconds,
        n,
        sampled,
        percentile(merged, sampled, 0.50, top),
        percentile(merged, sampled, 0.99, top),
        top,
        recent / (double) seconds,
        seconds);
  }

  /** The value at quantile {@code q}: the top of its bucket, never above the largest seen; -1. */
  private static long percentile(long[] merged, long total, double q, long top) {
    if (total == 0) {
      return -1;
    }
    long rank = Math.max(1, (long) Math.ceil(q * total));
    long seen = 0;
    for (int b = 0; b < BUCKETS; b++) {
      seen += merged[b];
      if (seen >= rank) {
        return Math.min(highest(b), top);
      }
    }
    return top;
  }

  /** The bucket of a value in µs. */
  static int bucket(long micros) {
    if (micros < SUB) {
      return (int) micros;
    }
    int exponent = 63 - Long.numberOfLeadingZeros(micros);
    if (exponent > MAX_EXPONENT) {
      return BUCKETS - 1;
    }
    int sub = (int) ((micros >>> (exponent - SUB_BITS)) & (SUB - 1));
    return SUB + (exponent - SUB_BITS) * SUB + sub;
  }

  /** The largest value in µs that falls into bucket {@code b}. */
  static long highest(int b) {
    if (b < SUB) {
      return b;
    }
    int exponent = (b - SUB) / SUB + SUB_BITS;
    int sub = (b - SUB) % SUB;
    long lowest = ((long) (SUB + sub)) << (exponent - SUB_BITS);
    return lowest + (1L << (exponent - SUB_BITS)) - 1;
  }
}
