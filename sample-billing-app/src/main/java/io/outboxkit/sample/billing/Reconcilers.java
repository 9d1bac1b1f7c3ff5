package io.outboxkit.sample.billing;

import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import io.outboxkit.patterns.PatternsSchema;
import io.outboxkit.patterns.reconcile.ReconcileRun;
import io.outboxkit.patterns.reconcile.Reconciler;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Background sync of the two read models with the meter service (outbox-patterns' {@link
 * Reconciler}): the bills per billing month, the load curves per day. Scheduled when {@code
 * billing.reconcile.enabled}; {@code POST /reconcile} runs them at once.
 */
@Singleton
final class Reconcilers implements ApplicationEventListener<ServerStartupEvent> {
  private static final Logger log = LoggerFactory.getLogger(Reconcilers.class);

  private final ReconcileSettings settings;
  private final List<Reconciler> all = new ArrayList<>();

  Reconcilers(
      ReconcileSettings settings,
      Jdbi jdbi,
      DataSource dataSource,
      MeterClient meters,
      Tariffs tariffs,
      Consumers consumers,
      MeterRegistry registry) {
    this.settings = settings;
    PatternsSchema.migrateReconciler(dataSource, "public");
    ConsumerIdle idle = new ConsumerIdle(consumers);
    String zone = tariffs.commonZone();
    if (zone == null) {
      log.warn(
          "bills are not reconciled: the tariffs' zones differ, so billing months have no common"
              + " window; give all tariffs one zone");
    } else {
      all.add(
          builder(jdbi, registry, BillReconciliation.NAME)
              .reconciliation(new BillReconciliation(meters, idle, tariffs, ZoneId.of(zone)))
              .monthlyWindows(ZoneId.of(zone))
              .build());
    }
    all.add(
        builder(jdbi, registry, LoadReconciliation.NAME)
            .reconciliation(new LoadReconciliation(meters, idle))
            .window(settings.loadWindow())
            .build());
  }

  private Reconciler.Builder builder(Jdbi jdbi, MeterRegistry registry, String name) {
    return Reconciler.builder()
        .name(name)
        .jdbi(jdbi)
        .settle(settings.settle())
        .lookback(settings.lookback())
        .interval(settings.interval())
        .batchSize(settings.batchSize())
        .meterRegistry(registry);
  }

  @Override
  public void onApplicationEvent(ServerStartupEvent event) {
    if (settings.enabled()) {
      all.forEach(Reconciler::start);
    }
  }

  List<Reconciler> all() {
    return all;
  }

  /** Runs every reconciliation now, one after the other. */
  List<ReconcileRun> runAll() {
    return all.stream().map(Reconciler::runOnce).toList();
  }

  @PreDestroy
  void close() {
    all.forEach(Reconciler::close);
  }
}
