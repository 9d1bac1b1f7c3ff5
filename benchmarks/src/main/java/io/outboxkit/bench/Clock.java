package io.outboxkit.bench;

import java.time.Instant;
import java.time.ZonedDateTime;

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

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted", e);
    }
  }
}
