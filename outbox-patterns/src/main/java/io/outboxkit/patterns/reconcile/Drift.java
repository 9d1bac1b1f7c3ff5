package io.outboxkit.patterns.reconcile;

import java.time.Instant;

/**
 * One key whose derived value differed from the source of truth, as recorded in {@code
 * reconcile_drift}.
 *
 * <pre>{@code
 * for (Drift d : reconciler.drifts(20)) {
 *   System.out.println(d.key() + " in " + d.windowStart() + ": " + d.actual() + " -> " + d.expected());
 * }
 * }</pre>
 *
 * @param id the row id
 * @param runId the run that found it
 * @param reconciliation the reconciler's name
 * @param key the key
 * @param windowStart start of the window it was found in
 * @param windowEnd end of that window
 * @param expected the source of truth's value ({@code toString()}); null when the key should not
 *     exist
 * @param actual the derived store's value; null when the key was missing
 * @param foundAt when it was found
 * @param status {@code REPAIRED} or {@code FAILED}
 * @param error why the repair failed, else null
 */
public record Drift(
    long id,
    long runId,
    String reconciliation,
    String key,
    Instant windowStart,
    Instant windowEnd,
    String expected,
    String actual,
    Instant foundAt,
    String status,
    String error) {}
