package io.outboxkit.patterns.reconcile;

import io.outboxkit.OutboxException;
import io.outboxkit.TableName;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Background sync that repairs. On a schedule, for every closed time window in its look-back, it
 * asks a {@link Reconciliation} for the source of truth's value of each key and the derived
 * store's, records every key that differs (key, window, expected, actual, found at) in {@code
 * reconcile_drift}, and repairs it in the same transaction. Runs are recorded in {@code
 * reconcile_run}; create both tables with {@link io.outboxkit.patterns.PatternsSchema}.
 *
 * <p>Several instances (threads or processes, on one database) share the work: a window is leased
 * with a PostgreSQL advisory lock for as long as one instance compares it, and the others skip it,
 * so no key is repaired twice. Repairs write absolute values, so a repair repeated after a crash
 * leaves the same state.
 *
 * <pre>{@code
 * PatternsSchema.migrateReconciler(dataSource, "public");     // once, at deploy
 *
 * Reconciler reconciler =
 *     Reconciler.builder()
 *         .name("grid-load")
 *         .jdbi(jdbi)
 *         .reconciliation(loadCurves)             // your Reconciliation<V>
 *         .window(Duration.ofDays(1))             // or .monthlyWindows(ZoneId.of("UTC"))
 *         .settle(Duration.ofMinutes(5))          // a window is closed 5 min after its end
 *         .lookback(Duration.ofDays(7))
 *         .interval(Duration.ofMinutes(10))
 *         .build()
 *         .start();                               // or runOnce() from a command or endpoint
 * ...
 * reconciler.close();
 * }</pre>
 *
 * <p>Limits: the source of truth is read outside the derived store's transaction, so an event
 * written at the source before the comparison but applied to the derived store after the repair
 * counts twice in an additive read model. Give {@code settle} the time late events may take.
 *
 * <p>Thread-safe. A run holds two connections of the {@code Jdbi}'s pool at a time (the window's
 * lease and the work). The {@code Jdbi} belongs to the caller: close the reconciler first.
 */
public final class Reconciler implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

  private final String name;
  private final Windows windows;
  private final Duration interval;
  private final String instance;
  private final Clock clock;
  private final ReconcileStore store;
  private final ReconcilePass<?> pass;
  private final ReconcileMetrics metrics;
  private final Object runLock = new Object();
  private ScheduledExecutorService scheduler;

  private Reconciler(Builder b, Windows windows, ReconcileMetrics metrics) {
    this.name = b.name;
    this.windows = windows;
    this.interval = b.interval;
    this.instance = b.instance;
    this.clock = b.clock;
    this.metrics = metrics;
    this.store = new ReconcileStore(b.jdbi, b.schema, b.name);
    this.pass =
        new ReconcilePass<>(b.name, b.jdbi, b.reconciliation, store, metrics, b.batchSize, b.clock);
  }

  /** A builder; {@code name}, {@code jdbi} and {@code reconciliation} are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The name given to the builder: the tag of its metrics and its rows. */
  public String name() {
    return name;
  }

  /**
   * Compares and repairs every closed window of the look-back now, in the caller's thread, and
   * returns the run as recorded. A window that cannot be compared (the source does not answer)
   * fails alone: its error is in {@link ReconcileRun#error()} and the next run tries it again. Runs
   * of one instance do not overlap: a second caller waits for the first.
   */
  public ReconcileRun runOnce() {
    synchronized (runLock) {
      long started = System.nanoTime();
      Instant now = clock.instant();
      long runId = store.startRun(instance, now);
      Tally tally = new Tally();
      for (Window w : windows.closed(now)) {
        pass.window(runId, w, tally);
      }
      store.finishRun(runId, tally, clock.instant());
      metrics.run(!tally.errors.isEmpty(), System.nanoTime() - started);
      ReconcileRun run = store.run(runId);
      if (run.driftsFound() > 0 || run.error() != null) {
        log.info(
            "reconciliation {}: {} windows, {} keys, {} drifts ({} repaired, {} failed){}",
            name,
            run.windows(),
            run.keysCompared(),
            run.driftsFound(),
            run.driftsRepaired(),
            run.driftsFailed(),
            run.error() == null ? "" : "; " + run.error());
      }
      return run;
    }
  }

  /**
   * Runs {@link #runOnce()} every {@code interval} (the first run one interval after this call) on
   * a daemon thread of its own, until {@link #close()}.
   *
   * @return this
   */
  public Reconciler start() {
    synchronized (this) {
      if (scheduler != null) {
        throw new OutboxException(
            "reconciler '" + name + "' was already started: build another one to start again");
      }
      scheduler =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "outboxkit-reconcile-" + name);
                t.setDaemon(true);
                return t;
              });
      scheduler.scheduleWithFixedDelay(
          this::scheduledRun, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }
    log.info("reconciler '{}' started: every {}, {}", name, interval, windows);
    return this;
  }

  private void scheduledRun() {
    try {
      runOnce();
    } catch (RuntimeException e) {
      // The database is away: the run row may be missing; the next run tries again.
      log.warn("reconciler '{}' run failed: {}", name, OutboxException.describe(e));
    }
  }

  /** The latest runs of this reconciliation (by any instance), newest first. */
  public List<ReconcileRun> runs(int limit) {
    return store.runs(limit);
  }

  /** The latest drifts of this reconciliation, newest first. */
  public List<Drift> drifts(int limit) {
    return store.drifts(limit);
  }

  /** Stops the schedule; a run in progress finishes its current transaction first. */
  @Override
  public void close() {
    ScheduledExecutorService s;
    synchronized (this) {
      s = scheduler;
    }
    if (s != null) {
      s.shutdownNow();
      try {
        s.awaitTermination(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Settings of a {@link Reconciler}, checked by {@link #build()}. Not thread-safe. */
  public static final class Builder {
    private String name;
    private Jdbi jdbi;
    private Reconciliation<?> reconciliation;
    private String schema = "public";
    private Duration window = Duration.ofHours(1);
    private ZoneId monthZone;
    private Duration settle = Duration.ofMinutes(5);
    private Duration lookback = Duration.ofDays(1);
    private Duration interval = Duration.ofMinutes(5);
    private int batchSize = 500;
    private String instance = ManagementFactory.getRuntimeMXBean().getName();
    private Object meterRegistry;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /** Required: names the reconciliation in its rows, lease and metrics (1-100 characters). */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    /** Required: the derived store's database, which also holds the reconciler's tables. */
    public Builder jdbi(Jdbi jdbi) {
      this.jdbi = jdbi;
      return this;
    }

    /** Required: what to compare and how to repair. */
    public Builder reconciliation(Reconciliation<?> reconciliation) {
      this.reconciliation = reconciliation;
      return this;
    }

    /** The schema of {@code reconcile_run} and {@code reconcile_drift}; default {@code public}. */
    public Builder schema(String schema) {
      this.schema = schema;
      return this;
    }

    /** Windows of this length, aligned to the epoch (a day is a UTC day); default 1 hour. */
    public Builder window(Duration length) {
      this.window = length;
      this.monthZone = null;
      return this;
    }

    /** Calendar months in {@code zone} as windows, instead of a fixed length. */
    public Builder monthlyWindows(ZoneId zone) {
      this.monthZone = Objects.requireNonNull(zone, "zone");
      return this;
    }

    /** A window is closed, and compared, this long after its end; default 5 minutes. */
    public Builder settle(Duration settle) {
      this.settle = settle;
      return this;
    }

    /** Compares the closed windows that end within this much of now; default 1 day. */
    public Builder lookback(Duration lookback) {
      this.lookback = lookback;
      return this;
    }

    /** Time between the end of one scheduled run and the start of the next; default 5 minutes. */
    public Builder interval(Duration interval) {
      this.interval = interval;
      return this;
    }

    /** Drifted keys repaired in one transaction; default 500. */
    public Builder batchSize(int batchSize) {
      this.batchSize = batchSize;
      return this;
    }

    /** Names this process in {@code reconcile_run}; default {@code pid@host}. */
    public Builder instance(String instance) {
      this.instance = instance;
      return this;
    }

    /** A Micrometer {@code MeterRegistry} (typed Object: Micrometer is optional); default none. */
    public Builder meterRegistry(Object registry) {
      this.meterRegistry = registry;
      return this;
    }

    /** The clock that decides which windows are closed; default UTC system clock. */
    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    /** Checks every setting and builds; throws {@link OutboxException} naming what to fix. */
    public Reconciler build() {
      StringBuilder problems = new StringBuilder();
      if (name == null || name.isBlank() || name.length() > 100) {
        problems.append("; name is '").append(name).append("': give 1-100 characters");
      }
      if (jdbi == null) {
        problems.append("; jdbi is missing: give the derived store's Jdbi");
      }
      if (reconciliation == null) {
        problems.append("; reconciliation is missing: give what to compare and repair");
      }
      try {
        TableName.of(schema, "reconcile_run");
      } catch (OutboxException e) {
        problems.append("; ").append(e.getMessage());
      }
      positive(problems, "window", monthZone == null ? window : Duration.ofDays(1));
      positive(problems, "lookback", lookback);
      positive(problems, "interval", interval);
      if (settle == null || settle.isNegative()) {
        problems.append("; settle is ").append(settle).append(": give 0 or more");
      }
      if (batchSize < 1) {
        problems.append("; batchSize is ").append(batchSize).append(": give 1 or more");
      }
      if (instance == null || instance.isBlank()) {
        problems.append("; instance is empty: name this process");
      }
      if (clock == null) {
        problems.append("; clock is missing");
      }
      if (meterRegistry != null && !isMeterRegistry(meterRegistry)) {
        problems.append("; meterRegistry is not a Micrometer MeterRegistry");
      }
      if (problems.length() > 0) {
        throw new OutboxException(
            "reconciler '" + name + "' is misconfigured: " + problems.substring(2));
      }
      Windows w =
          monthZone != null
              ? Windows.months(monthZone, settle, lookback)
              : Windows.fixed(window, settle, lookback);
      ReconcileMetrics metrics =
          meterRegistry == null
              ? ReconcileMetrics.NOOP
              : MicrometerReconcileMetrics.create(meterRegistry, name);
      return new Reconciler(this, w, metrics);
    }

    private static void positive(StringBuilder problems, String what, Duration d) {
      if (d == null || d.isNegative() || d.isZero()) {
        problems
            .append("; ")
            .append(what)
            .append(" is ")
            .append(d)
            .append(": give a positive time");
      }
    }

    private static boolean isMeterRegistry(Object o) {
      for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
        if (c.getName().equals("io.micrometer.core.instrument.MeterRegistry")) {
          return true;
        }
      }
      return false;
    }
  }
}
