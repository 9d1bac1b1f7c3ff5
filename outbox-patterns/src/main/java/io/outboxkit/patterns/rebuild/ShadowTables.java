package io.outboxkit.patterns.rebuild;

import io.outboxkit.OutboxException;
import java.util.List;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The SQL of a rebuild: the shadow tables, the search path that sends the handler's writes there,
 * and the swap. Names come from checked settings (plain identifiers), so they may be placed into
 * the SQL.
 */
final class ShadowTables {
  private final RebuildSettings s;

  ShadowTables(RebuildSettings settings) {
    this.s = settings;
  }

  /** Drops what an earlier rebuild left and creates empty copies of the model's tables. */
  void create(Jdbi jdbi, String rebuildPrefix) {
    jdbi.useTransaction(
        h -> {
          h.execute("DROP SCHEMA IF EXISTS " + s.shadowSchema() + " CASCADE");
          h.execute("DROP SCHEMA IF EXISTS " + s.retiredSchema() + " CASCADE");
          h.createUpdate(
                  "DELETE FROM " + s.inboxTable().qualified() + " WHERE consumer LIKE :prefix")
              .bind("prefix", rebuildPrefix.replace("_", "\\_") + "%")
              .execute();
          h.execute("CREATE SCHEMA " + s.shadowSchema());
          for (String t : s.tables()) {
            h.execute(
                "CREATE TABLE "
                    + s.shadowSchema()
                    + "."
                    + t
                    + " (LIKE "
                    + s.schema()
                    + "."
                    + t
                    + " INCLUDING ALL)");
          }
        });
  }

  /** The session's search path with the shadow schema in front, as a {@code set_config} value. */
  String searchPath(Jdbi jdbi) {
    String current = jdbi.withHandle(h -> h.select("SHOW search_path").mapTo(String.class).one());
    return s.shadowSchema() + ", " + current;
  }

  /** Sends the transaction's unqualified table names to the shadow schema. */
  static void route(Handle h, String searchPath) {
    h.select("SELECT set_config('search_path', ?, true)", searchPath).mapTo(String.class).one();
  }

  /** The inbox rows of the live consumer that the rebuild has not (0 before a swap may go). */
  static long missing(Handle h, RebuildSettings s, String rebuild) {
    String inbox = s.inboxTable().qualified();
    return h.createQuery(
            "SELECT count(*) FROM "
                + inbox
                + " l WHERE l.consumer = :live AND NOT EXISTS (SELECT 1 FROM "
                + inbox
                + " r WHERE r.consumer = :rebuild AND r.message_id = l.message_id)")
        .bind("live", s.liveConsumer())
        .bind("rebuild", rebuild)
        .mapTo(Long.class)
        .one();
  }

  long rows(Handle h, String schema) {
    return h.select(
            s.tables().stream()
                .map(t -> "(SELECT count(*) FROM " + schema + "." + t + ")")
                .collect(Collectors.joining(" + ", "SELECT ", "")))
        .mapTo(Long.class)
        .one();
  }

  /**
   * The swap, in the caller's transaction: locks the live and the rebuilt tables (the live ones
   * first, in the configured order), checks that the rebuild applied everything the live consumer
   * had, moves the live tables out and the rebuilt ones in, and gives the rebuild's inbox rows to
   * the live consumer. Returns the rows before and after.
   */
  long[] swap(Handle h, String rebuild) {
    h.execute("SET LOCAL lock_timeout = '10s'");
    List<String> locks =
        s.tables().stream().map(t -> s.schema() + "." + t).collect(Collectors.toList());
    s.tables().forEach(t -> locks.add(s.shadowSchema() + "." + t));
    h.execute("LOCK TABLE " + String.join(", ", locks) + " IN ACCESS EXCLUSIVE MODE");
    long missing = missing(h, s, rebuild);
    if (missing > 0) {
      throw new OutboxException(
          missing
              + " events applied to the live model '"
              + s.model()
              + "' were not applied by the rebuild (its handler failed on them: see dead letters"
              + " on "
              + s.deadLetterSubject()
              + "); the live model is kept. Fix the handler and start the rebuild again");
    }
    long before = rows(h, s.schema());
    long after = rows(h, s.shadowSchema());
    h.execute("CREATE SCHEMA " + s.retiredSchema());
    for (String t : s.tables()) {
      h.execute("ALTER TABLE " + s.schema() + "." + t + " SET SCHEMA " + s.retiredSchema());
      h.execute("ALTER TABLE " + s.shadowSchema() + "." + t + " SET SCHEMA " + s.schema());
    }
    String inbox = s.inboxTable().qualified();
    h.createUpdate("DELETE FROM " + inbox + " WHERE consumer = :live")
        .bind("live", s.liveConsumer())
        .execute();
    h.createUpdate("UPDATE " + inbox + " SET consumer = :live WHERE consumer = :rebuild")
        .bind("live", s.liveConsumer())
        .bind("rebuild", rebuild)
        .execute();
    return new long[] {before, after};
  }

  /** Drops the shadow and retired schemas, and the inbox rows of a rebuild that did not swap. */
  void drop(Jdbi jdbi, String rebuild) {
    jdbi.useTransaction(
        h -> {
          h.execute("DROP SCHEMA IF EXISTS " + s.retiredSchema() + " CASCADE");
          h.execute("DROP SCHEMA IF EXISTS " + s.shadowSchema() + " CASCADE");
          h.createUpdate("DELETE FROM " + s.inboxTable().qualified() + " WHERE consumer = :c")
              .bind("c", rebuild)
              .execute();
        });
  }
}
