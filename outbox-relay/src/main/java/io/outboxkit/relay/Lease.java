package io.outboxkit.relay;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * The active relay's own view of its lease: how long it may still act as the leader. PostgreSQL
 * ends the lock session {@code timeout} after its last statement ({@code idle_session_timeout});
 * the relay counts the same time from just before it sent that statement, on its monotonic clock,
 * so its lease always ends before the server could hand the lock to a standby. A relay that was
 * frozen (SIGSTOP, a VM pause, a long GC) finds its lease over the moment it runs again, before any
 * I/O. Thread-safe.
 */
final class Lease {
  private final long timeoutNanos;
  private final LongSupplier clock;
  private volatile boolean held;
  private volatile long validUntil;

  Lease(Duration timeout) {
    this(timeout, System::nanoTime);
  }

  Lease(Duration timeout, LongSupplier clock) {
    this.timeoutNanos = timeout.toNanos();
    this.clock = clock;
  }

  /** The clock's reading, taken just before a statement that renews the lease. */
  long now() {
    return clock.getAsLong();
  }

  /**
   * The statement sent at {@code sentAt} succeeded: the lease runs until {@code sentAt + timeout}.
   * An older renewal that completes late never shortens or extends it wrongly.
   */
  synchronized void renewed(long sentAt) {
    long until = sentAt + timeoutNanos;
    if (!held || until - validUntil > 0) {
      validUntil = until;
    }
    held = true;
  }

  /** The lock session is gone: the lease is over now. */
  synchronized void lost() {
    held = false;
  }

  /** Held, and not yet over. Cheap: one clock reading. */
  boolean valid() {
    return held && validUntil - clock.getAsLong() > 0;
  }

  /** Time left; zero when not held or over. */
  Duration remaining() {
    if (!held) {
      return Duration.ZERO;
    }
    long left = validUntil - clock.getAsLong();
    return left > 0 ? Duration.ofNanos(left) : Duration.ZERO;
  }

  /** How often the active relay renews: a third of the timeout, so two renewals may fail. */
  Duration renewEvery() {
    return Duration.ofNanos(timeoutNanos / 3);
  }
}
