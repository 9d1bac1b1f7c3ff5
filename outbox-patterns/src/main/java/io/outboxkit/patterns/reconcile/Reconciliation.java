package io.outboxkit.patterns.reconcile;

import java.util.Map;
import org.jdbi.v3.core.Handle;

/**
 * What a {@link Reconciler} compares and how it repairs: the application's part. Values are
 * compared with {@code equals} (use records or other value types) and recorded in the drift table
 * as their {@code toString()}.
 *
 * <pre>{@code
 * Reconciliation<Long> counts = new Reconciliation<>() {
 *   public Map<String, Long> expected(Window w) {            // the source of truth, e.g. over HTTP
 *     return truthClient.countsPerKey(w.start(), w.end());
 *   }
 *   public Map<String, Long> actual(Handle h, Window w) {    // the derived store, in its database
 *     return h.createQuery("SELECT k, n FROM view WHERE t >= :s AND t < :e")
 *         .bind("s", w.start()).bind("e", w.end())
 *         .setMapKeyColumn("k").setMapValueColumn("n")
 *         .collectInto(new GenericType<Map<String, Long>>() {});
 *   }
 *   public void repair(Handle h, Window w, String key, Long expected) {
 *     if (expected == null) h.execute("DELETE FROM view WHERE k = ?", key);
 *     else h.execute("INSERT INTO view (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = excluded.n", key, expected);
 *   }
 * };
 * }</pre>
 *
 * @param <V> the value compared per key
 */
public interface Reconciliation<V> {

  /**
   * The source of truth's value of every key in {@code window}. Called outside any transaction of
   * the derived store; it may call another service. A key absent here must be absent in the derived
   * store. Throw to fail the window (it is tried again at the next run).
   */
  Map<String, V> expected(Window window);

  /**
   * The derived store's value of every key in {@code window}, read with {@code handle}. Called once
   * to compare, and again inside each repair transaction to see that the keys did not move since.
   */
  Map<String, V> actual(Handle handle, Window window);

  /**
   * Makes {@code key} hold {@code expected} (null: remove the key), inside the transaction of
   * {@code handle}, which also records the drift. Must write absolute values (not add to them), so
   * that a repair done twice leaves the same state.
   */
  void repair(Handle handle, Window window, String key, V expected);
}
