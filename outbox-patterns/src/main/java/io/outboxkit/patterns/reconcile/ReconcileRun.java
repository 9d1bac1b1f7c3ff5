package io.outboxkit.patterns.reconcile;

import java.time.Instant;

/**
 * One run of a {@link Reconciler}: what it compared, found and repaired.
 *
 * <pre>{@code
 * ReconcileRun run = reconciler.runOnce();
 * log.info("{}: {} drifts, {} repaired, {} failed", run.reconciliation(), run.driftsFound(),
 *     run.driftsRepaired(), run.driftsFailed());
 * }</pre>
 *
 * @param id the run's row id in {@code reconcile_run}
 * @param reconciliation the reconciler's name
 * @param instance the process that ran it ({@code pid@host} unless set)
 * @param startedAt when it started
 * @param finishedAt when it ended; null while it runs (or when its process died)
 * @param windows closed windows compared
 * @param windowsSkipped windows another instance was working on, left to it
 * @param keysCompared keys compared over all windows
 * @param driftsFound keys whose derived value differed (repaired plus failed)
 * @param driftsRepaired drifts repaired
 * @param driftsFailed drifts whose repair failed (tried again at the next run)
 * @param error the failures of windows that could not be compared, else null
 */
public record ReconcileRun(
    long id,
    String reconciliation,
    String instance,
    Instant startedAt,
    Instant finishedAt,
    int windows,
    int windowsSkipped,
    long keysCompared,
    int driftsFound,
    int driftsRepaired,
    int driftsFailed,
    String error) {}
