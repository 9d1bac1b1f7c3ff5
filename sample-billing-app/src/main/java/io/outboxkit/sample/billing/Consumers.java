package io.outboxkit.sample.billing;

import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import io.micronaut.serde.annotation.Serdeable;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.Subject;
import io.outboxkit.NatsSubjects;
import io.outboxkit.OutboxException;
import io.outboxkit.consumer.EventHandler;
import io.outboxkit.consumer.OutboxConsumer;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the two durable consumers of the read models, {@code billing} and {@code grid-load}, and the
 * onboarding saga's consumer {@code onboarding} (not a read model: it answers through the outbox),
 * once the server is up, and stops them before the service stops. Until NATS answers and the relay
 * has created the stream, it keeps trying every two seconds: the service starts in any order with
 * the relay.
 */
@Singleton
final class Consumers implements ApplicationEventListener<ServerStartupEvent> {
  private static final Logger log = LoggerFactory.getLogger(Consumers.class);
  private static final Duration RETRY = Duration.ofSeconds(2);

  /**
   * What JetStream holds.
   *
   * @param stream the stream
   * @param messages all its messages
   * @param meterEvents its messages on the billing consumer's subjects: the meter events relayed
   * @param subjects its messages per subject
   */
  @Serdeable
  record StreamCounts(String stream, long messages, long meterEvents, Map<String, Long> subjects) {}

  private final BillingSettings settings;
  private final Jdbi jdbi;
  private final Map<String, EventHandler> handlers = new LinkedHashMap<>();
  private final Map<String, String> subjects = new LinkedHashMap<>();
  private final Map<String, OutboxConsumer> running = new ConcurrentHashMap<>();
  // Consumers beside the read models (the onboarding saga): started like them, not in names().
  private final Map<String, EventHandler> others = new LinkedHashMap<>();
  private final ScheduledExecutorService starter =
      Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "consumer-starter"));
  private volatile Connection nats;
  private volatile boolean closed;
  private int attempts;

  private final Set<String> paused = ConcurrentHashMap.newKeySet();

  Consumers(
      BillingSettings settings,
      Jdbi jdbi,
      BillingProjection billing,
      GridLoadProjection gridLoad,
      Progress progress,
      Onboarding onboarding,
      OnboardingSettings onboardingSettings) {
    this.settings = settings;
    this.jdbi = jdbi;
    if (onboardingSettings.enabled()) {
      others.put(Onboarding.CONSUMER, onboarding);
      subjects.put(Onboarding.CONSUMER, onboardingSettings.subject());
    }
    handlers.put(
        BillingProjection.CONSUMER, withProgress(BillingProjection.CONSUMER, billing, progress));
    subjects.put(BillingProjection.CONSUMER, settings.billingSubject());
    handlers.put(
        GridLoadProjection.CONSUMER, withProgress(GridLoadProjection.CONSUMER, gridLoad, progress));
    subjects.put(GridLoadProjection.CONSUMER, settings.gridLoadSubject());
  }

  /** The live handler: the projection, then its freshness row, in the same transaction. */
  private static EventHandler withProgress(
      String name, EventHandler projection, Progress progress) {
    return (h, event) -> {
      projection.handle(h, event);
      progress.applied(h, name, event);
    };
  }

  @Override
  public void onApplicationEvent(ServerStartupEvent event) {
    if (!settings.consumersEnabled()) {
      log.info(
          "consumers disabled (billing.consumers-enabled=false): serving the read models only");
      return;
    }
    starter.execute(this::startMissing);
  }

  Iterable<String> names() {
    return handlers.keySet();
  }

  boolean isRunning(String name) {
    OutboxConsumer c = running.get(name);
    return c != null && c.isRunning();
  }

  /** Whether {@code name} is paused for a rebuild's handover. */
  boolean isPaused(String name) {
    return paused.contains(name);
  }

  /** The NATS connection, once made; null before. */
  Connection connection() {
    return nats;
  }

  /**
   * Stops the live consumer {@code name} for a rebuild's handover; returns once its transaction in
   * hand has committed (or rolled back), so nothing more is applied until {@link #resume}.
   */
  void pause(String name) {
    OutboxConsumer c;
    synchronized (this) {
      paused.add(name);
      c = running.remove(name);
    }
    if (c != null) {
      c.close();
    }
  }

  /** Starts {@code name} again after {@link #pause} (a new consumer on the same durable). */
  void resume(String name) {
    paused.remove(name);
    if (!closed && settings.consumersEnabled()) {
      startMissing();
    }
  }

  private synchronized void startMissing() {
    if (closed) {
      return;
    }
    attempts++;
    try {
      if (nats == null) {
        nats =
            Nats.connect(
                new Options.Builder()
                    .server(settings.natsUrl())
                    .connectionName("sample-billing-app")
                    .connectionTimeout(Duration.ofSeconds(5))
                    .maxReconnects(-1)
                    .build());
      }
      Map<String, EventHandler> all = new LinkedHashMap<>(handlers);
      all.putAll(others);
      for (Map.Entry<String, EventHandler> e : all.entrySet()) {
        if (!running.containsKey(e.getKey()) && !paused.contains(e.getKey())) {
          OutboxConsumer consumer =
              OutboxConsumer.builder().name(e.getKey()).connection(nats).jdbi(jdbi).stream(
                      settings.stream())
                  .filterSubject(subjects.get(e.getKey()))
                  .maxDeliveries(settings.maxDeliveries())
                  .deadLetterSubject(settings.deadLetterPrefix() + e.getKey())
                  .handler(e.getValue())
                  .build()
                  .start();
          running.put(e.getKey(), consumer);
        }
      }
      log.info("consumers {} running on stream {}", running.keySet(), settings.stream());
      return;
    } catch (OutboxException | IOException e) {
      if (attempts == 1 || attempts % 15 == 0) {
        log.warn(
            "consumers not started yet ({}); retrying every {} s",
            e.getMessage(),
            RETRY.toSeconds());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    if (!closed) {
      starter.schedule(this::startMissing, RETRY.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Messages of the stream not yet acknowledged by {@code name}; null when unknown. */
  Long pending(String name) {
    Connection c = nats;
    if (c == null || c.getStatus() != Connection.Status.CONNECTED) {
      return null;
    }
    try {
      ConsumerInfo info = c.jetStreamManagement().getConsumerInfo(settings.stream(), name);
      return info.getNumPending() + info.getNumAckPending();
    } catch (IOException | JetStreamApiException e) {
      return null;
    }
  }

  /** The stream's message counts per subject; null when unknown. */
  StreamCounts stream() {
    Connection c = nats;
    if (c == null || c.getStatus() != Connection.Status.CONNECTED) {
      return null;
    }
    try {
      JetStreamManagement jsm = c.jetStreamManagement();
      StreamInfo info = jsm.getStreamInfo(settings.stream(), StreamInfoOptions.filterSubjects(">"));
      Map<String, Long> counts = new TreeMap<>();
      if (info.getStreamState().getSubjects() != null) {
        for (Subject s : info.getStreamState().getSubjects()) {
          counts.put(s.getName(), s.getCount());
        }
      }
      long meterEvents =
          counts.entrySet().stream()
              .filter(e -> NatsSubjects.matches(settings.billingSubject(), e.getKey()))
              .mapToLong(Map.Entry::getValue)
              .sum();
      return new StreamCounts(
          settings.stream(), info.getStreamState().getMsgCount(), meterEvents, counts);
    } catch (IOException | JetStreamApiException e) {
      return null;
    }
  }

  @PreDestroy
  void close() {
    closed = true;
    starter.shutdownNow();
    synchronized (this) {
      running.values().forEach(OutboxConsumer::close);
      running.clear();
      if (nats != null) {
        try {
          nats.close();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
