package io.outboxkit;

import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, a 12-bit counter that
 * keeps ids strictly increasing within this JVM, and 62 random bits. Outbox ids are UUIDv7, so they
 * sort by creation time and serve as JetStream {@code Nats-Msg-Id}.
 *
 * <pre>{@code
 * UUID id = UuidV7.next();
 * Instant when = UuidV7.timestamp(id);
 * }</pre>
 */
public final class UuidV7 {
  // Millisecond timestamp shifted left 12 bits, plus the counter.
  private static final AtomicLong LAST = new AtomicLong();

  private UuidV7() {}

  /** A new UUIDv7, greater than every one this JVM made before. */
  public static UUID next() {
    long now = System.currentTimeMillis() << 12;
    long tick = LAST.updateAndGet(last -> Math.max(now, last + 1));
    long millis = tick >>> 12;
    long counter = tick & 0xFFF;
    long msb = (millis << 16) | 0x7000L | counter;
    long lsb = (ThreadLocalRandom.current().nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb);
  }

  /** The creation time in a UUIDv7. */
  public static Instant timestamp(UUID uuid) {
    if (uuid.version() != 7) {
      throw new OutboxException("UUID " + uuid + " is version " + uuid.version() + ", not 7");
    }
    return Instant.ofEpochMilli(uuid.getMostSignificantBits() >>> 16);
  }

  /** The smallest UUIDv7 of the given instant: every id made at or after it compares greater. */
  public static UUID lowerBound(Instant instant) {
    return new UUID((instant.toEpochMilli() << 16) | 0x7000L, 0x8000000000000000L);
  }
}
