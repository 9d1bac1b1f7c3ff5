package io.outboxkit.relay;

import io.debezium.connector.base.QueueProvider;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The storage behind Debezium's change event queue (its {@code queue.provider.type} extension
 * point, selected by {@link #TYPE}): Debezium's in-memory deque, plus one thing. Debezium 3.6's
 * {@code ChangeEventQueue.poll()} waits for records in whole milliseconds; when less than one
 * millisecond of the poll interval is left, the wait rounds down to 0 ms and the poll thread spins
 * on the queue's size until the millisecond clock ticks. At the relay's 5 ms poll interval that
 * spin is most of an idle relay's CPU.
 *
 * <p>The spin is visible here: the same thread asks an empty queue for its size again and again,
 * microseconds apart, without anything enqueued in between. On the third such call this queue parks
 * that thread until the next millisecond starts, the moment the spin would have ended anyway. A
 * normal poll asks at most twice before it waits (sizing its batch, then draining), so it never
 * parks; a record enqueued while a poll is parked is drained by that same poll, as before. If
 * Debezium stops spinning, this queue simply never parks.
 *
 * <p>It also times each change's way from its commit into and out of the queue ({@link StageLag}).
 *
 * <p>Every call arrives under Debezium's queue lock, except the metrics' capacity reads, which only
 * count. Public only because Debezium loads it through {@link java.util.ServiceLoader}.
 */
public final class SpinFreeQueue<T> implements QueueProvider<T> {
  /** The value of Debezium's {@code queue.provider.type} that selects this queue. */
  public static final String TYPE = "outboxkit-spin-free";

  /** Calls closer together than this count as one spin. */
  static final long SPIN_GAP_NANOS = 50_000;

  /** Consecutive empty size calls of one thread, {@link #SPIN_GAP_NANOS} apart, that park. */
  static final int SPIN_CALLS = 3;

  private ArrayDeque<T> queue = new ArrayDeque<>();
  private Thread lastAsker;
  private long lastEmptyNanos;
  private int emptyCalls;
  private long parks;
  private StageLag stages;

  @Override
  public String name() {
    return TYPE;
  }

  @Override
  public void configure(Map<String, ?> properties) {
    Object max = properties.get("max.queue.size");
    queue = new ArrayDeque<>(max == null ? 8192 : Integer.parseInt(max.toString()));
    stages = StageLag.of(properties);
  }

  @Override
  public void enqueue(T event) {
    queue.add(event);
    emptyCalls = 0;
    if (stages != null) {
      stages.decoded(event);
    }
  }

  @Override
  public T poll() {
    T event = queue.poll();
    if (stages != null && event != null) {
      stages.dequeued(event);
    }
    return event;
  }

  @Override
  public int size() {
    int size = queue.size();
    if (size > 0) {
      emptyCalls = 0;
      return size;
    }
    Thread asker = Thread.currentThread();
    long now = System.nanoTime();
    boolean again = asker == lastAsker && now - lastEmptyNanos < SPIN_GAP_NANOS;
    emptyCalls = again ? emptyCalls + 1 : 1;
    lastAsker = asker;
    if (emptyCalls >= SPIN_CALLS) {
      parks++;
      emptyCalls = 0;
      LockSupport.parkNanos(nanosToNextMillisecond());
      now = System.nanoTime();
    }
    lastEmptyNanos = now;
    return 0;
  }

  /** How often this queue parked a spinning poll (for tests). */
  long parks() {
    return parks;
  }

  /** Until the wall clock's millisecond changes (Debezium's poll timer reads that clock). */
  private static long nanosToNextMillisecond() {
    return 1_000_000 - Instant.now().getNano() % 1_000_000 + 10_000;
  }
}
