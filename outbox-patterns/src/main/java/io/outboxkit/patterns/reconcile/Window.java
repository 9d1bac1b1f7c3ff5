package io.outboxkit.patterns.reconcile;

import io.outboxkit.OutboxException;
import java.time.Instant;

/**
 * A closed time range {@code [start, end)} that a {@link Reconciler} compares in one pass.
 *
 * <pre>{@code
 * Window w = new Window(Instant.parse("2025-01-01T00:00:00Z"), Instant.parse("2025-02-01T00:00:00Z"));
 * w.contains(Instant.parse("2025-01-31T23:45:00Z"));   // true
 * }</pre>
 *
 * @param start the first instant in the window
 * @param end the first instant after it
 */
public record Window(Instant start, Instant end) {

  public Window {
    if (start == null || end == null || !start.isBefore(end)) {
      throw new OutboxException(
          "window [" + start + ", " + end + ") is empty or open: give a start before its end");
    }
  }

  /** Whether {@code t} lies in {@code [start, end)}. */
  public boolean contains(Instant t) {
    return !t.isBefore(start) && t.isBefore(end);
  }

  @Override
  public String toString() {
    return "[" + start + ", " + end + ")";
  }
}
