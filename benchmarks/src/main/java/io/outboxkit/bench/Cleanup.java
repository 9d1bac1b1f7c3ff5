package io.outboxkit.bench;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What must be undone, newest first: processes, slots, streams, schemas, databases. Each step is
 * registered when its resource is made and runs once: at its normal end, or from {@link #runAll}
 * after a failure, a Ctrl-C (shutdown hook) or the watchdog. Every step is bounded in time.
 */
final class Cleanup {
  private static final Logger log = LoggerFactory.getLogger("bench");
  private static final long STEP_TIMEOUT_MS = 90_000;

  /** An undo step, which may throw. */
  @FunctionalInterface
  interface Step {
    void run() throws Exception;
  }

  /** One registered step; {@link #close()} runs it now (once) and forgets it. */
  final class Registration implements AutoCloseable {
    private final String what;
    private final Step step;
    private boolean done;

    private Registration(String what, Step step) {
      this.what = what;
      this.step = step;
    }

    @Override
    public void close() {
      synchronized (Cleanup.this) {
        if (done) {
          return;
        }
        done = true;
        steps.remove(this);
      }
      runBounded(what, step);
    }
  }

  private final Deque<Registration> steps = new ArrayDeque<>();

  synchronized Registration register(String what, Step step) {
    Registration r = new Registration(what, step);
    steps.push(r);
    return r;
  }

  /** Runs every step still registered, newest first. */
  void runAll() {
    List<Registration> todo;
    synchronized (this) {
      todo = new ArrayList<>(steps);
    }
    for (Registration r : todo) {
      r.close();
    }
  }

  private static void runBounded(String what, Step step) {
    Thread t =
        new Thread(
            () -> {
              try {
                step.run();
              } catch (Exception e) {
                log.warn("clean-up: {} failed: {}", what, e.toString());
              }
            },
            "cleanup");
    t.setDaemon(true);
    t.start();
    try {
      t.join(STEP_TIMEOUT_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t.isAlive()) {
      log.warn("clean-up: {} did not finish within {} s; moving on", what, STEP_TIMEOUT_MS / 1000);
    }
  }
}
