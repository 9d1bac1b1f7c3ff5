package io.outboxkit.relay;

import io.nats.client.JetStreamApiException;
import io.outboxkit.TableName;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Republishes the outbox rows of a range that are still in the tables, table by table in id order,
 * with their original ids ({@code Nats-Msg-Id}), by the relay's conversion rule. Its progress is
 * stored under a run name after each acknowledged page, so an interrupted run resumes after the
 * last row it stored; the rows it had published beyond that are found in the stream (from where the
 * run began) and skipped, so a resumed run stores nothing twice whatever the duplicate window.
 */
final class Replay {
  private static final int PAGE = 500;

  private final CliSession session;
  private final Republisher publisher;
  private final OutboxRows rows;
  private final String table;

  Replay(CliSession session, Republisher publisher) {
    this.session = session;
    this.publisher = publisher;
    this.rows = new OutboxRows(session);
    this.table = StateTables.replays(session.settings);
  }

  /** A run's counts. */
  record Result(
      String run,
      String spec,
      long total,
      long published,
      long skipped,
      long deadLettered,
      boolean resumed,
      boolean alreadyFinished) {
    Map<String, Object> asMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("run", run);
      m.put("range", spec);
      m.put("rows", total);
      m.put("published", published);
      m.put("skipped", skipped);
      m.put("deadLettered", deadLettered);
      m.put("resumed", resumed);
      m.put("alreadyFinished", alreadyFinished);
      return m;
    }
  }

  /** Rows in {@code range}, over all outbox tables. */
  long count(OutboxRows.Range range) throws SQLException {
    long n = 0;
    try (Connection c = session.db.connect()) {
      for (TableName t : session.settings.tables()) {
        n += rows.count(c, t, range);
      }
    }
    return n;
  }

  /**
   * Runs (or resumes) {@code run} over {@code range}.
   *
   * @param sameCommand the run's name comes from the same command line: resume it with the range it
   *     stored (an age such as 2h resolves to another time on each run)
   * @param skipStoredFrom also skip rows whose ids the relay stored in the stream from this
   *     sequence on (0: only what this run stored)
   * @param progress told the rows done so far
   * @throws RelayException fatal when the run exists with another range
   */
  Result run(
      String run,
      OutboxRows.Range range,
      boolean sameCommand,
      long skipStoredFrom,
      boolean restart,
      java.util.function.LongConsumer progress)
      throws SQLException, IOException, JetStreamApiException {
    String spec = range.toString();
    try (Connection c = session.db.connect()) {
      if (restart) {
        exec(c, "DELETE FROM " + table + " WHERE run = ?", run);
      }
      State st = load(c, run);
      boolean resumed = st != null;
      if (st != null && !st.spec.equals(spec) && sameCommand) {
        range = OutboxRows.Range.parse(st.spec);
        spec = st.spec;
      }
      if (st != null && !st.spec.equals(spec)) {
        throw RelayException.fatal(
            "replay run '"
                + run
                + "' was started for "
                + st.spec
                + ", not "
                + spec
                + ": resume it with the same range, give another --run, or --restart it");
      }
      long total = count(range);
      if (st != null && st.finished) {
        return new Result(run, spec, total, st.published, st.skipped, st.deadLettered, true, true);
      }
      if (st == null) {
        st = new State(spec, session.lastSeq(), null, null, 0, 0, 0, false);
        try (PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO " + table + " (run, spec, stream_seq) VALUES (?, ?, ?)")) {
          ps.setString(1, run);
          ps.setString(2, spec);
          ps.setLong(3, st.streamSeq);
          ps.executeUpdate();
        }
      }
      Set<String> skip = new HashSet<>();
      long from = resumed ? st.streamSeq + 1 : 0;
      if (skipStoredFrom > 0) {
        from = from == 0 ? skipStoredFrom : Math.min(from, skipStoredFrom);
      }
      if (from > 0) {
        skip.addAll(session.tail().idsFrom(session.nats(), from));
      }
      List<TableName> tables = session.settings.tables();
      int startTable = st.lastTable == null ? 0 : indexOf(tables, st.lastTable);
      long published = st.published;
      long skipped = st.skipped;
      long deadLettered = st.deadLettered;
      for (int ti = startTable; ti < tables.size(); ti++) {
        TableName t = tables.get(ti);
        UUID after = ti == startTable ? st.lastId : null;
        while (true) {
          List<OutboxRows.Row> page = rows.page(c, t, range, after, PAGE);
          if (page.isEmpty()) {
            break;
          }
          for (OutboxRows.Row row : page) {
            if (skip.contains(row.id().toString())) {
              skipped++;
            } else {
              Republisher.Sent sent = publisher.publish(row.message());
              if (sent.ack().isDuplicate()) {
                skipped++;
              } else if (sent.message().isDeadLetter()) {
                deadLettered++;
              } else {
                published++;
              }
            }
            after = row.id();
            progress.accept(published + skipped + deadLettered);
            if ((published + skipped + deadLettered) % 100 == 0) {
              save(c, run, t, after, published, skipped, deadLettered, false);
            }
          }
          save(c, run, t, after, published, skipped, deadLettered, false);
        }
      }
      save(c, run, null, null, published, skipped, deadLettered, true);
      return new Result(run, spec, total, published, skipped, deadLettered, resumed, false);
    }
  }

  private record State(
      String spec,
      long streamSeq,
      String lastTable,
      UUID lastId,
      long published,
      long skipped,
      long deadLettered,
      boolean finished) {}

  private State load(Connection c, String run) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT spec, stream_seq, last_table, last_id, published, skipped, dead_lettered,"
                + " finished_at IS NOT NULL FROM "
                + table
                + " WHERE run = ?")) {
      ps.setString(1, run);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? new State(
                rs.getString(1),
                rs.getLong(2),
                rs.getString(3),
                rs.getObject(4, UUID.class),
                rs.getLong(5),
                rs.getLong(6),
                rs.getLong(7),
                rs.getBoolean(8))
            : null;
      }
    }
  }

  private void save(
      Connection c,
      String run,
      TableName t,
      UUID lastId,
      long published,
      long skipped,
      long deadLettered,
      boolean finished)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "UPDATE "
                + table
                + " SET last_table = coalesce(?, last_table), last_id = coalesce(?, last_id),"
                + " published = ?, skipped = ?, dead_lettered = ?, updated_at = now()"
                + (finished ? ", finished_at = now()" : "")
                + " WHERE run = ?")) {
      ps.setString(1, t == null ? null : t.qualified());
      ps.setObject(2, lastId);
      ps.setLong(3, published);
      ps.setLong(4, skipped);
      ps.setLong(5, deadLettered);
      ps.setString(6, run);
      ps.executeUpdate();
    }
  }

  private static int indexOf(List<TableName> tables, String qualified) {
    for (int i = 0; i < tables.size(); i++) {
      if (tables.get(i).qualified().equals(qualified)) {
        return i;
      }
    }
    throw RelayException.fatal(
        "the replay run stopped in table "
            + qualified
            + ", which is no longer among outboxkit.relay.tables: --restart the run");
  }

  private static void exec(Connection c, String sql, String arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, arg);
      ps.executeUpdate();
    }
  }
}
