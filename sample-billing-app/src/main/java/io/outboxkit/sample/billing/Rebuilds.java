package io.outboxkit.sample.billing;

import io.nats.client.Connection;
import io.outboxkit.OutboxException;
import io.outboxkit.consumer.EventHandler;
import io.outboxkit.patterns.rebuild.RebuildProgress;
import io.outboxkit.patterns.rebuild.Rebuilder;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Jdbi;

/**
 * CQRS rebuilds of the two read models while they serve: {@code bills} (tables {@code bill_usage},
 * {@code billing_meter}, fed by the {@code billing} consumer) and {@code load} ({@code
 * feeder_load}, fed by {@code grid-load}). Each is rebuilt from the stream by an {@link Rebuilder}
 * with the model's own projection, and swapped in while the live consumer is paused.
 */
@Singleton
final class Rebuilds {

  /** One rebuildable model: its tables (in the order readers lock them), consumer and handler. */
  private record Model(String[] tables, String consumer, String subject, EventHandler handler) {}

  private final Map<String, Model> models = new LinkedHashMap<>();
  private final Map<String, Rebuilder> rebuilders = new ConcurrentHashMap<>();
  private final BillingSettings settings;
  private final Jdbi jdbi;
  private final Consumers consumers;

  Rebuilds(
      BillingSettings settings,
      Jdbi jdbi,
      Consumers consumers,
      BillingProjection billing,
      GridLoadProjection gridLoad) {
    this.settings = settings;
    this.jdbi = jdbi;
    this.consumers = consumers;
    models.put(
        "bills",
        new Model(
            new String[] {"bill_usage", "billing_meter"},
            BillingProjection.CONSUMER,
            settings.billingSubject(),
            billing));
    models.put(
        "load",
        new Model(
            new String[] {"feeder_load"},
            GridLoadProjection.CONSUMER,
            settings.gridLoadSubject(),
            gridLoad));
  }

  Set<String> models() {
    return models.keySet();
  }

  boolean exists(String model) {
    return models.containsKey(model);
  }

  /** Starts a rebuild of {@code model} (from the start of the stream when {@code from} is null). */
  RebuildProgress start(String model, Instant from) {
    return rebuilder(model).start(from);
  }

  /** The running or latest rebuild of {@code model}. */
  RebuildProgress progress(String model) {
    return rebuilder(model).progress();
  }

  private Rebuilder rebuilder(String name) {
    Model m = models.get(name);
    Connection nats = consumers.connection();
    if (!settings.consumersEnabled() || nats == null) {
      throw new OutboxException(
          "the consumers are not running (disabled, or NATS not reached yet): a read model is"
              + " rebuilt from the stream beside its live consumer; start them first");
    }
    return rebuilders.computeIfAbsent(
        name,
        n ->
            Rebuilder.builder()
                .model(n)
                .tables(m.tables())
                .handler(m.handler())
                .liveConsumer(m.consumer())
                .pauseLive(() -> consumers.pause(m.consumer()))
                .resumeLive(() -> consumers.resume(m.consumer()))
                .jdbi(jdbi)
                .connection(nats)
                .stream(settings.stream())
                .filterSubject(m.subject())
                .deadLetterSubject(settings.deadLetterPrefix() + m.consumer() + "-rebuild")
                .build());
  }

  @PreDestroy
  void close() {
    rebuilders.values().forEach(Rebuilder::close);
  }
}
