package io.outboxkit.patterns.reconcile;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/** The reconciler's tables: its runs and drifts, and the per-window lease between instances. */
final class ReconcileStore {
  private static final String RUN_COLUMNS =
      "id, reconciliation, instance, started_at, finished_at, windows, windows_skipped,"
          + " keys_compared, drifts_found, drifts_repaired, drifts_failed, error";
  private static final String DRIFT_COLUMNS =
      "id, run_id, reconciliation, drift_key, window_start, window_end, expected, actual,"
          + " found_at, status, error";

  private final Jdbi jdbi;
  private final String schema;
  private final String name;

  ReconcileStore(Jdbi jdbi, String schema, String name) {
    this.jdbi = jdbi;
    this.schema = schema;
    this.name = name;
  }

  long startRun(String instance, Instant startedAt) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "INSERT INTO "
                        + schema
                        + ".reconcile_run (reconciliation, instance, started_at)"
                        + " VALUES (:name, :instance, :at) RETURNING id")
                .bind("name", name)
                .bind("instance", instance)
                .bind("at", utc(startedAt))
                .mapTo(Long.class)
                .one());
  }

  void finishRun(long id, Tally t, Instant finishedAt) {
    jdbi.useHandle(
        h ->
            h.createUpdate(
                    "UPDATE "
                        + schema
                        + ".reconcile_run SET finished_at = :at, windows = :windows,"
                        + " windows_skipped = :skipped, keys_compared = :keys,"
                        + " drifts_found = :found, drifts_repaired = :repaired,"
                        + " drifts_failed = :failed, error = :error WHERE id = :id")
                .bind("at", utc(finishedAt))
                .bind("windows", t.windows)
                .bind("skipped", t.windowsSkipped)
                .bind("keys", t.keysCompared)
                .bind("found", t.repaired + t.failed)
                .bind("repaired", t.repaired)
                .bind("failed", t.failed)
                .bind("error", t.error())
                .bind("id", id)
                .execute());
  }

  /** Records a drift with {@code h}: in the repair's transaction, or alone after its rollback. */
  void drift(
      Handle h,
      long runId,
      Window w,
      String key,
      Object expected,
      Object actual,
      Instant foundAt,
      String error) {
    h.createUpdate(
            "INSERT INTO "
                + schema
                + ".reconcile_drift (run_id, reconciliation, drift_key, window_start, window_end,"
                + " expected, actual, found_at, status, error)"
                + " VALUES (:run, :name, :key, :start, :end, :expected, :actual, :at, :status,"
                + " :error)")
        .bind("run", runId)
        .bind("name", name)
        .bind("key", key)
        .bind("start", utc(w.start()))
        .bind("end", utc(w.end()))
        .bind("expected", expected == null ? null : expected.toString())
        .bind("actual", actual == null ? null : actual.toString())
        .bind("at", utc(foundAt))
        .bind("status", error == null ? "REPAIRED" : "FAILED")
        .bind("error", error)
        .execute();
  }

  /**
   * Takes the window's lease on {@code h}'s session, without waiting: an advisory lock keyed by the
   * reconciliation and the window. It ends with {@link #release} or when the session ends (a
   * crashed instance's connection closes), so a lease never outlives its holder.
   */
  boolean tryLease(Handle h, Window w) {
    return h.createQuery("SELECT pg_try_advisory_lock(hashtext(:ns), hashtext(:window))")
        .bind("ns", "outboxkit.reconcile:" + schema + "." + name)
        .bind("window", w.start().toString())
        .mapTo(Boolean.class)
        .one();
  }

  void release(Handle h, Window w) {
    h.createQuery("SELECT pg_advisory_unlock(hashtext(:ns), hashtext(:window))")
        .bind("ns", "outboxkit.reconcile:" + schema + "." + name)
        .bind("window", w.start().toString())
        .mapTo(Boolean.class)
        .one();
  }

  ReconcileRun run(long id) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT " + RUN_COLUMNS + " FROM " + schema + ".reconcile_run WHERE id = :id")
                .bind("id", id)
                .map((rs, ctx) -> run(rs))
                .one());
  }

  List<ReconcileRun> runs(int limit) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT "
                        + RUN_COLUMNS
                        + " FROM "
                        + schema
                        + ".reconcile_run WHERE reconciliation = :name ORDER BY id DESC LIMIT :n")
                .bind("name", name)
                .bind("n", limit)
                .map((rs, ctx) -> run(rs))
                .list());
  }

  List<Drift> drifts(int limit) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT "
                        + DRIFT_COLUMNS
                        + " FROM "
                        + schema
                        + ".reconcile_drift WHERE reconciliation = :name ORDER BY id DESC"
                        + " LIMIT :n")
                .bind("name", name)
                .bind("n", limit)
                .map((rs, ctx) -> drift(rs))
                .list());
  }

  private static ReconcileRun run(ResultSet rs) throws SQLException {
    return new ReconcileRun(
        rs.getLong(1),
        rs.getString(2),
        rs.getString(3),
        instant(rs.getObject(4, OffsetDateTime.class)),
        instant(rs.getObject(5, OffsetDateTime.class)),
        rs.getInt(6),
        rs.getInt(7),
        rs.getLong(8),
        rs.getInt(9),
        rs.getInt(10),
        rs.getInt(11),
        rs.getString(12));
  }

  private static Drift drift(ResultSet rs) throws SQLException {
    return new Drift(
        rs.getLong(1),
        rs.getLong(2),
        rs.getString(3),
        rs.getString(4),
        instant(rs.getObject(5, OffsetDateTime.class)),
        instant(rs.getObject(6, OffsetDateTime.class)),
        rs.getString(7),
        rs.getString(8),
        instant(rs.getObject(9, OffsetDateTime.class)),
        rs.getString(10),
        rs.getString(11));
  }

  private static OffsetDateTime utc(Instant t) {
    return t.atOffset(ZoneOffset.UTC);
  }

  private static Instant instant(OffsetDateTime t) {
    return t == null ? null : t.toInstant();
  }
}
