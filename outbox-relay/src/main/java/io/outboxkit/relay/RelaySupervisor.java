package io.outboxkit.relay;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.env.Environment;
import io.micronaut.context.event.StartupEvent;
import io.micronaut.core.naming.conventions.StringConvention;
import io.micronaut.runtime.event.annotation.EventListener;
import io.outboxkit.Backoff;
import io.outboxkit.OutboxException;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
  private final StreamTail tail;
  private final Leadership leadership;
  private final RowConverter converter;
  private final Thread thread;
  private final ScheduledExecutorService monitor;
  private volatile State state = State.STARTING;
  private volatile String lastError;
  private volatile boolean flowing;
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private volatile boolean stopping;
  private volatile RelayEngine engine;

  RelaySupervisor(RelayConfig config, RelayMetrics metrics, Environment environment) {
    this.settings = RelaySettings.from(config);
    this.metrics = metrics;
    Map<String, String> passThrough = debeziumPassThrough(environment);
    this.engineProperties = DebeziumProperties.of(settings, passThrough);
    this.db = new SourceDatabase(settings);
    String wildcard = settings.subjects().wildcard();
    String dlq = settings.deadLetterSubject();
    RelayConfig.Publish publish = settings.publish();
    this.tail = new StreamTail(settings.stream().name(), wildcard, dlq);
    this.publisher =
        new JetStreamPublisher(
            new NatsConnector(
                settings.nats(),
                "outboxkit-relay-" + settings.slot(),
                Math.max(10_000, publish.maxInFlight() * 2)),
            new StreamProvisioner(settings.stream(), wildcard, dlq),
            tail,
            new DeadLetters(dlq),
            publish,
            metrics);
    this.leadership = new Leadership(settings, db);
    this.converter =
        new RowConverter(
            settings.subjects(), new DeadLetters(dlq), config.messagePrefix(), settings.columns());
    this.monitor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "outboxkit-relay-monitor");
              t.setDaemon(true);
              return t;
            });
    this.thread = new Thread(this::loop, "outboxkit-relay-supervisor");
    metrics.consecutiveFailures(consecutiveFailures);
  }

  /**
   * The {@code outboxkit.relay.debezium.*} settings, passed to Debezium as they are. From a config
   * file they come with their own spelling; from an environment variable ({@code
   * OUTBOXKIT_RELAY_DEBEZIUM_SNAPSHOT_MODE}) Micronaut offers several spellings, of which the one
   * with dots ({@code snapshot.mode}) is Debezium's.
   */
  static Map<String, String> debeziumPassThrough(Environment environment) {
    Map<String, String> passThrough = new TreeMap<>();
    Set<String> spelled = new HashSet<>();
    environment
        .getProperties("outboxkit.relay.debezium", StringConvention.RAW)
        .forEach(
            (k, v) -> {
              passThrough.put(k, String.valueOf(v));
              spelled.add(k.toLowerCase(Locale.ROOT).replaceAll("[-_]", "."));
            });
    environment
        .getProperties("outboxkit.relay.debezium")
        .forEach(
            (k, v) -> {
              if (k.matches("[a-z0-9]+(\\.[a-z0-9]+)*") && spelled.add(k)) {
                passThrough.put(k, String.valueOf(v));
              }
            });
    return passThrough;
  }

  /** Starts the relay's threads once the application has started. */
  @EventListener
  void onStartup(StartupEvent event) {
    log.info("starting relay: {}", settings);
    thread.start();
    long every = settings.slotCheckInterval().toMillis();
    monitor.scheduleWithFixedDelay(this::checkSlot, every, every, TimeUnit.MILLISECONDS);
  }

  State state() {
    return state;
  }

  String lastError() {
    return lastError;
  }

  /** Engine failures (and failed starts) since events last flowed. */
  int consecutiveFailures() {
    return consecutiveFailures.get();
  }

  /** Streaming, and a batch went through since the engine (re)started. */
  boolean isFlowing() {
    return state == State.STREAMING && flowing;
  }

  RelaySettings settings() {
    return settings;
  }

  JetStreamPublisher publisher() {
    return publisher;
  }

  private void loop() {
    Backoff backoff =
        Backoff.of(settings.engine().restartBackoff(), settings.engine().restartBackoffMax());
    int attempt = 0;
    while (!stopping) {
      try {
        if (!leadership.acquire(() -> stopping, () -> state = State.STANDBY)) {
          break;
        }
        metrics.active.set(1);
        state = State.CONNECTING;
        flowing = false;
        new StartupChecks(settings, db).run();
        publisher.connect();
        Set<String> stored = storedReplays();
        RelayEngine e =
            new RelayEngine(
                engineProperties,
                publisher,
                converter,
                metrics,
                new Checkpoints(db, settings.engine().heartbeatInterval()),
                stored,
                new RelayEngine.Listener() {
                  @Override
                  public void streaming() {
                    state = State.STREAMING;
                    log.info(
                        "streaming slot {} of {} to stream {}",
                        settings.slot(),
                        settings.dbName(),
                        settings.stream().name());
                  }

                  @Override
                  public void flowing() {
                    if (!flowing) {
                      flowing = true;
                      lastError = null;
                      consecutiveFailures.set(0);
                    }
                  }
                });
        engine = e;
        Throwable failure = e.run();
        engine = null;
        flowing = false;
        if (stopping) {
          break;
        }
        if (failure != null) {
          RelayException fatal = fatalCause(failure);
          if (fatal != null) {
            throw fatal;
          }
          lastError = OutboxException.describe(failure);
        } else {
          lastError = "the Debezium engine stopped";
        }
        attempt = failed(attempt, backoff, "the Debezium engine stopped: " + lastError);
        metrics.engineRestart();
      } catch (RelayException e) {
        if (e.isFatal()) {
          fail(e);
          return;
        }
        lastError = e.getMessage();
        attempt = failed(attempt, backoff, e.getMessage());
      } catch (RuntimeException e) {
        lastError = OutboxException.describe(e);
        attempt = failed(attempt, backoff, "relay failure: " + lastError);
      } catch (InterruptedException e) {
        break;
      }
      if (stopping) {
        break;
      }
      if (state != State.STANDBY) {
        state = State.CONNECTING;
      }
      try {
        Thread.sleep(backoff.delay(attempt).toMillis());
      } catch (InterruptedException e) {
        break;
      }
    }
    state = State.STOPPED;
  }

  /** Counts a failure and logs it with the coming delay; returns the new attempt number. */
  private int failed(int attempt, Backoff backoff, String what) {
    flowing = false;
    int failures = consecutiveFailures.incrementAndGet();
    int next = failures == 1 ? 1 : attempt + 1;
    log.warn(
        "{}; restarting in about {} ms ({} consecutive failures)",
        what,
        backoff.ceiling(next).toMillis(),
        failures);
    return next;
  }

  /**
   * The ids of events the stream already holds that the engine will replay: those the relay
   * published after the stored resume point (or the slot's position when no offset is stored).
   */
  private Set<String> storedReplays() {
    Long resume = ResumePosition.of(settings, db);
    if (resume == null) {
      return Set.of();
    }
    try {
      long margin = Math.max(1000, 2L * settings.publish().maxInFlight());
      Set<String> ids = tail.idsReplayedFrom(publisher.connection(), resume, margin);
      if (!ids.isEmpty()) {
        log.info(
            "{} events after the resume point {} are in the stream already; the replay skips them",
            ids.size(),
            OffsetLsn.format(resume));
      }
      return ids;
    } catch (IOException | io.nats.client.JetStreamApiException e) {
      throw RelayException.retryable(
          "reading the end of stream " + settings.stream().name() + " failed: " + e, e);
    }
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
                + "): events in that range cannot be relayed. Recover with `outboxkit relay reset`"
                + " (README, 'Recovering after a gap').");
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
        e2.stop(settings.shutdownTimeout().toMillis());
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
    if (settings.exitOnFatal()) {
      // A clean exit with status 2, so that a process supervisor shows the failure.
      Thread exit = new Thread(() -> System.exit(2), "outboxkit-relay-exit");
      exit.start();
    }
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
      e.stop(settings.shutdownTimeout().toMillis());
      try {
        e.awaitFinished(settings.shutdownTimeout().toMillis());
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
      }
    }
    thread.interrupt();
    try {
      thread.join(settings.shutdownTimeout().toMillis());
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
