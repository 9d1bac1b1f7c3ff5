package io.outboxkit.patterns.reconcile;

import io.outboxkit.OutboxException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run over the closed windows: per window, take its lease, read both sides, and repair the
 * drifted keys in transactions of at most {@code batchSize} keys, each of which records its drifts.
 *
 * <p>Each repair transaction runs at REPEATABLE READ and reads the derived values again: a key
 * whose value moved since the comparison (an event applied meanwhile) is left to the next run, and
 * a concurrent write to a repaired row makes the transaction fail with a serialization error
 * instead of being overwritten. A failed batch is repaired again one key per transaction, so that a
 * failure is charged to its own key.
 */
final class ReconcilePass<V> {
  private static final Logger log = LoggerFactory.getLogger(ReconcilePass.class);

  private final String name;
  private final Jdbi jdbi;
  private final Reconciliation<V> reconciliation;
  private final ReconcileStore store;
  private final ReconcileMetrics metrics;
  private final int batchSize;
  private final Clock clock;

  ReconcilePass(
      String name,
      Jdbi jdbi,
      Reconciliation<V> reconciliation,
      ReconcileStore store,
      ReconcileMetrics metrics,
      int batchSize,
      Clock clock) {
    this.name = name;
    this.jdbi = jdbi;
    this.reconciliation = reconciliation;
    this.store = store;
    this.metrics = metrics;
    this.batchSize = batchSize;
    this.clock = clock;
  }

  void window(long runId, Window w, Tally tally) {
    try (Handle lease = jdbi.open()) {
      if (!store.tryLease(lease, w)) {
        tally.windowsSkipped++;
        log.debug("reconciliation {}: window {} is being compared by another instance", name, w);
        return;
      }
      try {
        compare(runId, w, tally);
        tally.windows++;
      } finally {
        store.release(lease, w);
      }
    } catch (RuntimeException e) {
      String why = "window " + w + ": " + OutboxException.describe(e);
      tally.errors.add(why);
      log.warn("reconciliation {} could not compare {}; the next run tries again", name, why);
    }
  }

  private void compare(long runId, Window w, Tally tally) {
    Map<String, V> expected = reconciliation.expected(w);
    Map<String, V> actual = jdbi.withHandle(h -> reconciliation.actual(h, w));
    TreeSet<String> keys = new TreeSet<>(expected.keySet());
    keys.addAll(actual.keySet());
    tally.keysCompared += keys.size();
    List<String> drifted = new ArrayList<>();
    for (String key : keys) {
      if (!Objects.equals(expected.get(key), actual.get(key))) {
        drifted.add(key);
      }
    }
    for (int i = 0; i < drifted.size(); i += batchSize) {
      List<String> batch = drifted.subList(i, Math.min(drifted.size(), i + batchSize));
      try {
        repair(runId, w, batch, expected, actual, tally);
      } catch (RuntimeException e) {
        if (batch.size() == 1) {
          failed(runId, w, batch.get(0), expected, actual, e, tally);
        } else {
          for (String key : batch) {
            try {
              repair(runId, w, List.of(key), expected, actual, tally);
            } catch (RuntimeException one) {
              failed(runId, w, key, expected, actual, one, tally);
            }
          }
        }
      }
    }
  }

  private void repair(
      long runId,
      Window w,
      List<String> keys,
      Map<String, V> expected,
      Map<String, V> seen,
      Tally tally) {
    int repaired =
        jdbi.inTransaction(
            TransactionIsolationLevel.REPEATABLE_READ,
            h -> {
              Map<String, V> now = reconciliation.actual(h, w);
              Instant at = clock.instant();
              int n = 0;
              for (String key : keys) {
                V current = now.get(key);
                if (!Objects.equals(seen.get(key), current)
                    || Objects.equals(expected.get(key), current)) {
                  continue; // moved since the comparison, or already right: the next run sees it
                }
                reconciliation.repair(h, w, key, expected.get(key));
                store.drift(h, runId, w, key, expected.get(key), current, at, null);
                n++;
              }
              return n;
            });
    tally.repaired += repaired;
    metrics.drifts(repaired, repaired, 0);
  }

  private void failed(
      long runId,
      Window w,
      String key,
      Map<String, V> expected,
      Map<String, V> actual,
      RuntimeException e,
      Tally tally) {
    if (serializationFailure(e)) {
      log.debug("reconciliation {}: {} changed while being repaired; next run", name, key);
      return;
    }
    String why = OutboxException.describe(e);
    log.warn("reconciliation {}: repairing {} in {} failed: {}", name, key, w, why);
    jdbi.useHandle(
        h ->
            store.drift(
                h, runId, w, key, expected.get(key), actual.get(key), clock.instant(), why));
    tally.failed++;
    metrics.drifts(1, 0, 1);
  }

  private static boolean serializationFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && "40001".equals(s.getSQLState())) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }
}
