package io.outboxkit.bench;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.function.LongSupplier;

/**
 * Wall-clock microseconds. PostgreSQL, nats-server and the harness run on the same machine, so
 * their wall clocks are the same clock: commit times from PostgreSQL, storage times from JetStream
 * and receive times taken here can be subtracted.
 */
final class Clock {
  private Clock() {}

  static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  static long micros(ZonedDateTime t) {
    return t.toEpochSecond() * 1_000_000L + t.getNano() / 1_000;
  }

  /** Says why a wait failed: what it reached, and how long it had made no progress. */
  interface Stalled {
    String message(long reached, long secondsWithoutProgress);
  }

  /**
   * Polls {@code progress} every {@code pollMillis} until it reaches {@code target}; fails with
   * {@code stalled}'s message after {@code stall} without a change, or after {@code max} in all.
   *
   * @return the last value read (at least {@code target})
   */
  static long awaitProgress(
      LongSupplier progress,
      long target,
      Duration stall,
      Duration max,
      long pollMillis,
      Stalled stalled) {
    long start = System.nanoTime();
    long lastChange = start;
    long last = -1;
    while (true) {
      long n = progress.getAsLong();
      if (n >= target) {
        return n;
      }
      long now = System.nanoTime();
      if (n != last) {
        last = n;
        lastChange = now;
      }
      if (now - lastChange > stall.toNanos() || now - start > max.toNanos()) {
        throw new BenchException(stalled.message(n, (now - lastChange) / 1_000_000_000));
      }
      sleep(pollMillis);
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted", e);
    }
  }
}
