package io.outboxkit.bench;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
import javax.sql.DataSource;

/**
 * The writers: each thread has its own connection and commits events ({@link EventWriter}: outbox
 * rows or WAL messages) of one aggregate type (so each workload has its own subject). Three shapes:
 * a fixed number of rows in multi-row transactions as fast as possible; single-row transactions as
 * fast as possible for a while; and single-row transactions paced by a schedule (each writer starts
 * its next transaction at its planned time, whatever the others do).
 */
final class Load {
  private Load() {}

  /**
   * What the writers did.
   *
   * @param rows rows committed
   * @param startMicros wall clock when the first writer started its first transaction
   * @param endMicros wall clock when the last commit returned
   * @param maxLateMicros paced loads: the most a transaction started after its planned time
   */
  record Written(long rows, long startMicros, long endMicros, long maxLateMicros) {
    double seconds() {
      return (endMicros - startMicros) / 1e6;
    }

    double rate() {
      return rows / seconds();
    }
  }

  /** {@code total} rows in transactions of {@code perTx} rows from {@code writers} threads. */
  static Written batched(
      DataSource ds, EventWriter t, String aggregateType, int total, int perTx, int writers) {
    AtomicLong next = new AtomicLong();
    return run(
        ds,
        writers,
        Duration.ofMinutes(30),
        (c, w, n, late, t0) -> {
          c.setAutoCommit(false);
          while (true) {
            long from = next.getAndAdd(perTx);
            if (from >= total) {
              return;
            }
            long to = Math.min(total, from + perTx);
            w.many(aggregateType, from, to);
            c.commit();
            n.addAndGet(to - from);
          }
        },
        t);
  }

  /** Single-row transactions as fast as {@code writers} threads can for {@code duration}. */
  static Written singleRows(
      DataSource ds, EventWriter t, String aggregateType, int writers, Duration duration) {
    AtomicLong next = new AtomicLong();
    long length = duration.toNanos();
    return run(
        ds,
        writers,
        duration.plusMinutes(5),
        (c, w, n, late, t0) -> {
          c.setAutoCommit(true);
          while (System.nanoTime() - t0 < length) {
            w.one(aggregateType, next.getAndIncrement());
            n.incrementAndGet();
          }
        },
        t);
  }

  /**
   * Single-row transactions at {@code rate} per second for {@code duration}: transaction {@code i}
   * is planned at {@code start + i / rate}; writer {@code k} takes {@code i = k, k + writers, ...}.
   * {@code onStart} gets the wall-clock start (µs) before the first transaction.
   */
  static Written paced(
      DataSource ds,
      EventWriter t,
      String aggregateType,
      int rate,
      Duration duration,
      int writers,
      LongConsumer onStart) {
    long period = 1_000_000_000L / rate;
    long planned = duration.toNanos() / period;
    AtomicLong k = new AtomicLong();
    return run(
        ds,
        writers,
        duration.plusMinutes(5),
        (c, w, n, late, t0) -> {
          c.setAutoCommit(true);
          for (long i = k.getAndIncrement(); i < planned; i += writers) {
            long due = t0 + i * period;
            long wait;
            while ((wait = due - System.nanoTime()) > 0) {
              LockSupport.parkNanos(wait);
            }
            late.accumulateAndGet(-wait / 1000, Math::max);
            w.one(aggregateType, i);
            n.incrementAndGet();
          }
        },
        t,
        onStart);
  }

  @FunctionalInterface
  private interface Body {
    void write(
        Connection c, EventWriter.Session w, AtomicLong rows, AtomicLong maxLate, long startNanos)
        throws SQLException;
  }

  /**
   * Opens one connection per writer, then starts all writers at once and waits for them (at most
   * {@code timeout}); the first failure fails the load.
   */
  private static Written run(
      DataSource ds, int writers, Duration timeout, Body body, EventWriter t) {
    return run(ds, writers, timeout, body, t, start -> {});
  }

  private static Written run(
      DataSource ds,
      int writers,
      Duration timeout,
      Body body,
      EventWriter t,
      LongConsumer onStart) {
    List<Connection> connections = new ArrayList<>();
    try {
      for (int i = 0; i < writers; i++) {
        connections.add(ds.getConnection());
      }
    } catch (SQLException e) {
      connections.forEach(Load::closeQuietly);
      throw new BenchException("cannot open writer connections: " + e.getMessage(), e);
    }
    AtomicLong rows = new AtomicLong();
    AtomicLong maxLate = new AtomicLong();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    long startNanos = System.nanoTime() + 5_000_000L; // every thread started by then
    long startMicros = Clock.nowMicros() + 5_000;
    onStart.accept(startMicros);
    for (int i = 0; i < writers; i++) {
      Connection c = connections.get(i);
      Thread th =
          new Thread(
              () -> {
                try (EventWriter.Session w = t.open(c)) {
                  long wait;
                  while ((wait = startNanos - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(wait);
                  }
                  body.write(c, w, rows, maxLate, startNanos);
                } catch (Throwable e) {
                  failure.compareAndSet(null, e);
                } finally {
                  closeQuietly(c);
                }
              },
              "writer-" + i);
      th.setDaemon(true);
      threads.add(th);
    }
    threads.forEach(Thread::start);
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      for (Thread th : threads) {
        th.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        if (th.isAlive()) {
          threads.forEach(Thread::interrupt);
          throw new BenchException("writers still busy after " + timeout);
        }
      }
    } catch (InterruptedException e) {
      threads.forEach(Thread::interrupt);
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted while writing", e);
    }
    long endMicros = Clock.nowMicros();
    Throwable f = failure.get();
    if (f != null) {
      throw new BenchException("a writer failed: " + f, f);
    }
    return new Written(rows.get(), startMicros, endMicros, maxLate.get());
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException e) {
      // closing
    }
  }
}
