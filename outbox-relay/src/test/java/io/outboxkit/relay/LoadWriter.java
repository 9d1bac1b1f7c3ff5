package io.outboxkit.relay;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;

/**
 * A writer thread that keeps committing outbox rows of every shape (single rows, multi-row INSERT,
 * COPY, larger transactions) while a test breaks things. It records what committed, and what may or
 * may not have (an operation whose connection broke during commit).
 */
final class LoadWriter implements AutoCloseable {
  private final OutboxLoad load;
  private final List<String> committed = Collections.synchronizedList(new ArrayList<>());
  private final Set<String> uncertain = Collections.synchronizedSet(new HashSet<>());
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread thread;
  private final long pauseMillis;
  private volatile int failures;
  private volatile Exception lastFailure;

  LoadWriter(DataSource ds, long pauseMillis) {
    this.load = new OutboxLoad(ds);
    this.pauseMillis = pauseMillis;
    this.thread = new Thread(this::run, "load-writer");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    int offset = 0;
    while (running.get()) {
      try {
        List<String> ids = load.oneOperation(60, offset);
        committed.addAll(ids);
        offset += ids.size();
      } catch (Exception e) {
        // The database is down or restarting: the ids of the operation in hand are in doubt.
        uncertain.addAll(load.attempt);
        failures++;
        lastFailure = e;
      }
      try {
        // Pacing of the load generator, not a wait for a condition.
        TimeUnit.MILLISECONDS.sleep(pauseMillis);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** Stops writing; returns the ids committed, in commit order. */
  List<String> stop() throws InterruptedException {
    running.set(false);
    thread.join(60_000);
    synchronized (committed) {
      return new ArrayList<>(committed);
    }
  }

  int committedSoFar() {
    return committed.size();
  }

  Set<String> uncertain() {
    synchronized (uncertain) {
      return new HashSet<>(uncertain);
    }
  }

  int failures() {
    return failures;
  }

  /** Where the writer thread is now, for test messages (a write that hangs shows here). */
  String where() {
    StringBuilder sb = new StringBuilder(thread.getState().toString());
    for (StackTraceElement e : thread.getStackTrace()) {
      sb.append("\n  at ").append(e);
    }
    return sb.toString();
  }

  /** The last write that failed, for test messages; null if none did. */
  Exception lastFailure() {
    return lastFailure;
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
