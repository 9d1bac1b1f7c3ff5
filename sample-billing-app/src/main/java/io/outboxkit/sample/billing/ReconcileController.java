package io.outboxkit.sample.billing;

import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.SerdeImport;
import io.micronaut.serde.annotation.Serdeable;
import io.outboxkit.patterns.reconcile.Drift;
import io.outboxkit.patterns.reconcile.ReconcileRun;
import java.util.List;

/**
 * Background sync over HTTP.
 *
 * <pre>
 * GET  /reconcile               each reconciliation's latest runs and drifts
 * POST /reconcile               runs them now; answers their runs
 * GET  /feeders/{id}/days       the daily feeder summary
 * POST /feeders/days            builds the daily summaries of the closed days now
 * </pre>
 */
@Controller
@ExecuteOn(TaskExecutors.BLOCKING)
@SerdeImport(ReconcileRun.class)
@SerdeImport(Drift.class)
final class ReconcileController {
  private static final int RUNS = 10;
  private static final int DRIFTS = 100;

  /** One reconciliation's latest runs and drifts, newest first. */
  @Serdeable
  record Reconciliation(String name, List<ReconcileRun> runs, List<Drift> drifts) {}

  /** The state of the background sync. */
  @Serdeable
  record State(List<Reconciliation> reconciliations) {}

  /** The runs just done. */
  @Serdeable
  record Runs(List<ReconcileRun> runs) {}

  private final Reconcilers reconcilers;
  private final FeederDays feederDays;

  ReconcileController(Reconcilers reconcilers, FeederDays feederDays) {
    this.reconcilers = reconcilers;
    this.feederDays = feederDays;
  }

  @Get("/reconcile")
  State state() {
    return new State(
        reconcilers.all().stream()
            .map(r -> new Reconciliation(r.name(), r.runs(RUNS), r.drifts(DRIFTS)))
            .toList());
  }

  @Post("/reconcile")
  Runs run() {
    return new Runs(reconcilers.runAll());
  }

  @Get("/feeders/{feederId}/days")
  List<FeederDays.Day> days(@PathVariable String feederId) {
    return feederDays.days(feederId);
  }

  @Post("/feeders/days")
  FeederDays.Build buildDays() {
    return feederDays.build();
  }
}
