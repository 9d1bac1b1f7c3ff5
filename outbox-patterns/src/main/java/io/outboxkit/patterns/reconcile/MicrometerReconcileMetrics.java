package io.outboxkit.patterns.reconcile;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * Micrometer meters of one reconciler: {@code outboxkit.reconcile.drifts{reconciliation,outcome}}
 * (outcome {@code found}, {@code repaired}, {@code failed}) and {@code
 * outboxkit.reconcile.runs{reconciliation,outcome}} (a timer; outcome {@code completed} or {@code
 * failed}). The only class here that references Micrometer.
 */
final class MicrometerReconcileMetrics implements ReconcileMetrics {
  private final Counter found;
  private final Counter repaired;
  private final Counter failed;
  private final Timer completedRuns;
  private final Timer failedRuns;

  /** {@code registry} is typed Object so that callers never name a Micrometer type. */
  static ReconcileMetrics create(Object registry, String reconciliation) {
    return new MicrometerReconcileMetrics((MeterRegistry) registry, reconciliation);
  }

  private MicrometerReconcileMetrics(MeterRegistry registry, String name) {
    found = drifts(registry, name, "found");
    repaired = drifts(registry, name, "repaired");
    failed = drifts(registry, name, "failed");
    completedRuns = runs(registry, name, "completed");
    failedRuns = runs(registry, name, "failed");
  }

  private static Counter drifts(MeterRegistry registry, String name, String outcome) {
    return Counter.builder("outboxkit.reconcile.drifts")
        .description("Keys whose derived value differed from the source of truth, by outcome")
        .tag("reconciliation", name)
        .tag("outcome", outcome)
        .register(registry);
  }

  private static Timer runs(MeterRegistry registry, String name, String outcome) {
    return Timer.builder("outboxkit.reconcile.runs")
        .description("Reconciliation runs over the closed windows, by outcome")
        .tag("reconciliation", name)
        .tag("outcome", outcome)
        .register(registry);
  }

  @Override
  public void drifts(int found, int repaired, int failed) {
    this.found.increment(found);
    this.repaired.increment(repaired);
    this.failed.increment(failed);
  }

  @Override
  public void run(boolean failed, long nanos) {
    (failed ? failedRuns : completedRuns).record(nanos, TimeUnit.NANOSECONDS);
  }
}
