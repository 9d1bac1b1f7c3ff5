package io.outboxkit.relay;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.env.Environment;
import io.micronaut.core.naming.conventions.StringConvention;
import jakarta.annotation.PreDestroy;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the relay running: takes the slot's lock (or waits as standby), checks the database,
 * connects to NATS and the stream, runs the engine, and restarts it with backoff after any failure
 * that may pass. A failure that cannot pass (bad settings, a dropped slot) stops the relay with an
 * error that names the fix.
 */
@Context
final class RelaySupervisor {
  private static final Logger log = LoggerFactory.getLogger(RelaySupervisor.class);

  enum State {
    STARTING,
    STANDBY,
    CONNECTING,
    STREAMING,
    STOPPING,
    STOPPED,
    FAILED
  }

  private final RelaySettings settings;
  private final RelayMetrics metrics;
  private final Properties engineProperties;
  private final SourceDatabase db;
  private final JetStreamPublisher publisher;
  private final Leadership leadership;
  private final RowConverter converter;
  private final Thread thread;
  private final ScheduledExecutorService monitor;
  private volatile State state = State.STARTING;
  private volatile String lastError;
  private volatile boolean stopping;
  private volatile RelayEngine engine;

  RelaySupervisor(RelayConfig config, RelayMetrics metrics, Environment environment) {
    this.settings = RelaySettings.from(config);
    this.metrics = metrics;
    Map<String, String> passThrough = new TreeMap<>();
    environment
        .getProperties("outboxkit.relay.debezium", StringConvention.RAW)
        .forEach((k, v) -> passThrough.put(k, String.valueOf(v)));
    this.engineProperties = DebeziumProperties.of(settings, passThrough);
    this.db = new SourceDatabase(settings);
    this.publisher = new JetStreamPublisher(settings, metrics);
    this.leadership = new Leadership(settings, db);
    this.converter = new RowConverter(settings.subjects(), settings.deadLetterSubject());
    this.monitor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "outboxkit-relay-monitor");
              t.setDaemon(true);
              return t;
            });
    this.thread = new Thread(this::loop, "outboxkit-relay-supervisor");
    log.info("starting relay: {}", settings);
    thread.start();
    long every = settings.raw().slotCheckInterval().toMillis();
    monitor.scheduleWithFixedDelay(this::checkSlot, every, every, TimeUnit.MILLISECONDS);
  }

  State state() {
    return state;
  }

  String lastError() {
    return lastError;
  }

  RelaySettings settings() {
    return settings;
  }

  JetStreamPublisher publisher() {
    return publisher;
  }

  private void loop() {
    long backoff = settings.raw().engine().restartBackoff().toMillis();
    long maxBackoff = settings.raw().engine().restartBackoffMax().toMillis();
    while (!stopping) {
      try {
        if (!leadership.acquire(() -> stopping, () -> state = State.STANDBY)) {
          break;
        }
        metrics.active.set(1);
        state = State.CONNECTING;
        new StartupChecks(settings, db).run();
        publisher.connect();
        publisher.ensureStream();
        RelayEngine e =
            new RelayEngine(
                engineProperties,
                publisher,
                converter,
                metrics,
                db,
                () -> {
                  state = State.STREAMING;
                  lastError = null;
                  log.info(
                      "streaming slot {} of {} to stream {}",
                      settings.slot(),
                      settings.dbName(),
                      settings.raw().stream().name());
                });
        engine = e;
        Throwable failure = e.run();
        engine = null;
        if (stopping) {
          break;
        }
        if (failure != null) {
          RelayException fatal = fatalCause(failure);
          if (fatal != null) {
            throw fatal;
          }
          lastError = describe(failure);
          log.warn("the Debezium engine stopped: {}; restarting in {} ms", lastError, backoff);
          metrics.engineRestart();
        } else {
          lastError = "the Debezium engine stopped";
          log.warn("the Debezium engine stopped; restarting in {} ms", backoff);
          metrics.engineRestart();
        }
      } catch (RelayException e) {
        if (e.isFatal()) {
          fail(e);
          return;
        }
        lastError = e.getMessage();
        log.warn("{}; retrying in {} ms", e.getMessage(), backoff);
      } catch (RuntimeException e) {
        lastError = describe(e);
        log.warn("relay failure: {}; retrying in {} ms", lastError, backoff, e);
      } catch (InterruptedException e) {
        break;
      }
      if (state != State.STANDBY) {
        state = State.CONNECTING;
      }
      try {
        Thread.sleep(backoff);
      } catch (InterruptedException e) {
        break;
      }
      backoff = Math.min(backoff * 2, maxBackoff);
    }
    state = State.STOPPED;
  }

  /** Debezium failures that retrying cannot fix, as fatal relay errors. */
  private RelayException fatalCause(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage());
      if (m.contains("has already been removed")
          || m.contains("no longer available on the server")) {
        return RelayException.fatal(
            "the WAL the relay needs to resume is gone from the server ("
                + m
                + "): events in that range cannot be relayed. See the README, 'Recovering after a"
                + " gap'.");
      }
    }
    return null;
  }

  private void checkSlot() {
    if (state != State.STREAMING && state != State.CONNECTING) {
      return;
    }
    try {
      metrics.retainedWalBytes.set(leadership.retainedWalBytes());
    } catch (RelayException e) {
      RelayEngine e2 = engine;
      if (e2 != null && !stopping) {
        log.warn("{}: stopping the engine until the lock is held again", e.getMessage());
        metrics.active.set(0);
        e2.stop(settings.raw().shutdownTimeout().toMillis());
      }
    } catch (RuntimeException e) {
      log.debug("slot check failed", e);
    }
  }

  private void fail(RelayException e) {
    state = State.FAILED;
    lastError = e.getMessage();
    log.error("relay stopped: {}", e.getMessage());
    metrics.active.set(0);
    leadership.close();
    publisher.close();
    if (settings.raw().exitOnFatal()) {
      // A clean exit with status 2, so that a process supervisor shows the failure.
      Thread exit = new Thread(() -> System.exit(2), "outboxkit-relay-exit");
      exit.start();
    }
  }

  private static String describe(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String m = root.getMessage();
    return root.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  /** SIGTERM: drain the batch in hand, commit, release the lock, close. */
  @PreDestroy
  void stop() {
    if (stopping) {
      return;
    }
    stopping = true;
    state = State.STOPPING;
    log.info("stopping: draining in-flight publishes");
    RelayEngine e = engine;
    if (e != null) {
      e.stop(settings.raw().shutdownTimeout().toMillis());
      try {
        e.awaitFinished(settings.raw().shutdownTimeout().toMillis());
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
      }
    }
    thread.interrupt();
    try {
      thread.join(settings.raw().shutdownTimeout().toMillis());
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
    }
    monitor.shutdownNow();
    publisher.close();
    leadership.close();
    metrics.active.set(0);
    state = State.STOPPED;
    log.info("stopped");
  }
}
