package io.outboxkit;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A retry delay policy: exponential growth from {@code initial} to {@code max}, with "equal jitter"
 * (each delay is between half and all of the exponential value), so that many clients retrying
 * after one outage do not retry in lock step. Immutable and thread-safe; the one backoff rule of
 * outboxkit (relay publisher and supervisor, consumer, sample simulator).
 *
 * <pre>{@code
 * Backoff backoff = Backoff.of(Duration.ofMillis(100), Duration.ofSeconds(5));
 * for (int attempt = 1; ; attempt++) {
 *   try {
 *     return call();
 *   } catch (IOException e) {
 *     Thread.sleep(backoff.delay(attempt).toMillis());   // 50-100 ms, 100-200 ms, ... up to 5 s
 *   }
 * }
 * }</pre>
 *
 * @param initial the delay before the first retry (before jitter), positive
 * @param max the longest delay, at least {@code initial}
 */
public record Backoff(Duration initial, Duration max) {

  public Backoff {
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(max, "max");
    if (initial.isNegative() || initial.isZero()) {
      throw new OutboxException("backoff initial delay is " + initial + ": give a positive one");
    }
    if (max.compareTo(initial) < 0) {
      throw new OutboxException(
          "backoff max delay " + max + " is below the initial delay " + initial + ": raise it");
    }
  }

  public static Backoff of(Duration initial, Duration max) {
    return new Backoff(initial, max);
  }

  /** The delay without jitter before retry number {@code attempt} (1 for the first retry). */
  public Duration ceiling(long attempt) {
    long max = this.max.toNanos();
    long value = initial.toNanos();
    for (long i = 1; i < attempt && value < max; i++) {
      value = value > max / 2 ? max : value * 2;
    }
    return Duration.ofNanos(value);
  }

  /** The delay before retry number {@code attempt}: between half and all of {@link #ceiling}. */
  public Duration delay(long attempt) {
    long c = ceiling(attempt).toNanos();
    long half = c / 2;
    return Duration.ofNanos(half + ThreadLocalRandom.current().nextLong(c - half + 1));
  }
}
