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
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the relay running: takes the slot's lock (or waits as standby), checks the database, raises
 * the leader epoch, connects to NATS and the stream, runs the engine, and restarts it with backoff
 * after any failure that may pass. A failure that cannot pass (bad settings, a dropped slot) stops
 * the relay with an error that names the fix.
 *
 * <p>While it leads, it renews its lease ({@link Leadership}) every third of {@code
 * standby.lease-timeout}; when the lock session is gone, it stops the engine at once, without
 * draining. A relay that finds a higher epoch than its own was fenced: another relay took over
 * while it was frozen or cut off. It stops for good (status 3), having published and stored nothing
 * after its lease ended.
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
    FAILED,
    /** Another relay took over (a higher epoch); this one stopped and exits with status 3. */
    FENCED
  }

  /** The exit status of a fenced relay. */
  static final int EXIT_FENCED = 3;

  private final RelaySettings settings;
  private final RelayMetrics metrics;
  private final RecentErrors errors;
  private final Map<String, String> passThrough;
  private final Lease lease;
  private final SourceDatabase db;
  private final JetStreamPublisher publisher;
  private final StreamTail tail;
  private final Leadership leadership;
  private final RowConverter converter;
  private final RelayTracing tracing;
  private final Thread thread;
  private final ScheduledExecutorService monitor;
  private volatile State state = State.STARTING;
  private volatile String lastError;
  private volatile boolean flowing;
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private volatile boolean stopping;
  private volatile RelayEngine engine;
  private volatile boolean leading;
  private volatile long epoch;
  private volatile boolean fenced;

  RelaySupervisor(
      RelayConfig config, RelayMetrics metrics, RecentErrors errors, Environment environment) {
    this.settings = RelaySettings.from(config);
    this.metrics = metrics;
    this.errors = errors;
    this.passThrough = debeziumPassThrough(environment);
    DebeziumProperties.of(settings, passThrough); // fails at start on what Debezium cannot take
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
            metrics,
            errors);
    this.lease = new Lease(settings.standby().leaseTimeout());
    this.leadership = new Leadership(settings, db, lease);
    publisher.fence(leadership::confirm);
    this.converter =
        new RowConverter(
            settings.subjects(), new DeadLetters(dlq), config.messagePrefix(), settings.columns());
    this.tracing = RelayTracing.of(settings.tracing());
    this.monitor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "outboxkit-relay-monitor");
              t.setDaemon(true);
              return t;
            });
    this.thread = new Thread(this::loop, "outboxkit-relay-supervisor");
    metrics.consecutiveFailures(consecutiveFailures);
    metrics.lease(lease);
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
    if (settings.standby().leaseTimeout().compareTo(settings.stream().duplicateWindow()) >= 0) {
      log.warn(
          "standby.lease-timeout ({}) is not below stream.duplicate-window ({}): a relay frozen in"
              + " the instant between its lease check and a socket write sends that write when it"
              + " wakes, after the standby's, and the stream drops it only within the window",
          settings.standby().leaseTimeout(),
          settings.stream().duplicateWindow());
    }
    thread.start();
    long every = settings.slotCheckInterval().toMillis();
    monitor.scheduleWithFixedDelay(this::checkSlot, every, every, TimeUnit.MILLISECONDS);
    long renew = lease.renewEvery().toMillis();
    monitor.scheduleWithFixedDelay(this::renewLease, renew, renew, TimeUnit.MILLISECONDS);
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

  /** The leader epoch of this relay's last term; 0 before it first led. */
  long epoch() {
    return epoch;
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
      long term = 0; // this pass's leader epoch, once claimed
      try {
        if (!leadership.acquire(() -> stopping, () -> state = State.STANDBY)) {
          break;
        }
        leading = true;
        state = State.CONNECTING;
        flowing = false;
        long t0 = System.nanoTime();
        new StartupChecks(settings, db).run();
        long t1 = System.nanoTime();
        term = leadership.claimEpoch();
        epoch = term;
        metrics.epoch.set(term);
        metrics.active.set(1);
        log.info("leading slot {} as epoch {}", settings.slot(), term);
        long t2 = System.nanoTime();
        leadership.evictPreviousWalsender();
        long t3 = System.nanoTime();
        publisher.connect();
        Set<String> stored = storedReplays();
        long t4 = System.nanoTime();
        RelayEngine e =
            new RelayEngine(
                DebeziumProperties.of(settings, passThrough, term),
                publisher,
                converter,
                tracing.publish(),
                metrics,
                new Checkpoints(db, settings.engine().heartbeatInterval()),
                stored,
                new RelayEngine.Listener() {
                  @Override
                  public void streaming() {
                    state = State.STREAMING;
                    long t5 = System.nanoTime();
                    log.info(
                        "streaming slot {} of {} to stream {}, {} ms after taking the lock"
                            + " (checks {} ms, epoch {} ms, slot freed {} ms, NATS and stream tail"
                            + " {} ms, engine start {} ms)",
                        settings.slot(),
                        settings.dbName(),
                        settings.stream().name(),
                        (t5 - t0) / 1_000_000,
                        (t1 - t0) / 1_000_000,
                        (t2 - t1) / 1_000_000,
                        (t3 - t2) / 1_000_000,
                        (t4 - t3) / 1_000_000,
                        (t5 - t4) / 1_000_000);
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
        if (superseded(term)) {
          return;
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
        if (term > 0 && superseded(term)) {
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

  /**
   * After a run ends: when the slot's epoch is above {@code term}, another relay took over and this
   * one is fenced. An epoch that cannot be read (PostgreSQL away) is no proof either way: the relay
   * then takes the usual path back through the lock.
   *
   * @return true when fenced (the relay has stopped)
   */
  private boolean superseded(long term) {
    leading = false;
    Long current;
    try {
      current = leadership.currentEpoch();
    } catch (RuntimeException e) {
      return false;
    }
    if (current == null || current <= term) {
      return false;
    }
    fenced = true;
    state = State.FENCED;
    lastError =
        "fenced: epoch "
            + current
            + " of slot "
            + settings.slot()
            + " leads; this relay was "
            + term;
    log.error(
        "fenced: relay epoch {} of slot {} was superseded by epoch {}: another relay took over"
            + " while this one was frozen or cut off from PostgreSQL. It published nothing and"
            + " stored no offset after its lease ended. Stopping{}",
        term,
        settings.slot(),
        current,
        settings.exitOnFatal()
            ? " with exit status " + EXIT_FENCED + "; started again, it waits as a standby"
            : "; restart it to wait as a standby");
    metrics.active.set(0);
    publisher.close();
    leadership.close();
    if (settings.exitOnFatal()) {
      Thread exit = new Thread(() -> System.exit(EXIT_FENCED), "outboxkit-relay-exit");
      exit.start();
    }
    return true;
  }

  /** Renews the lease while leading; a lost lock session stops the engine at once. */
  private void renewLease() {
    if (!leading || stopping) {
      return;
    }
    if (!leadership.renew()) {
      lockLost("the relay lock's session is gone");
    }
  }

  /**
   * The lock is gone with its session, so a standby may lead any moment: stop the engine now,
   * without draining (publishing up to a marker is the leader's job).
   */
  private void lockLost(String why) {
    leading = false;
    metrics.active.set(0);
    RelayEngine e = engine;
    if (e != null && !stopping) {
      log.warn("{}: stopping the engine at once, without draining", why);
      errors.add("lock", why + ": stopping the engine at once, without draining");
      e.stopNow();
    }
  }

  /** Counts a failure and logs it with the coming delay; returns the new attempt number. */
  private int failed(int attempt, Backoff backoff, String what) {
    flowing = false;
    errors.add("relay", what);
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
      metrics.retainedWal(leadership.retainedWalBytes());
    } catch (RelayException e) {
      if (leading) {
        lockLost(e.getMessage());
      }
    } catch (RuntimeException e) {
      log.debug("slot check failed", e);
    }
  }

  private void fail(RelayException e) {
    state = State.FAILED;
    lastError = e.getMessage();
    errors.add("relay", "relay stopped: " + e.getMessage());
    log.error("relay stopped: {}", e.getMessage());
    metrics.active.set(0);
    leadership.close();
    publisher.close();
    tracing.close();
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
    if (e != null && (fenced || !lease.valid())) {
      e.stopNow(); // no lease: publishing up to a marker is no longer this relay's job
    } else if (e != null) {
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
    tracing.close();
    metrics.active.set(0);
    if (!fenced) {
      state = State.STOPPED;
    }
    log.info("stopped");
  }
}
