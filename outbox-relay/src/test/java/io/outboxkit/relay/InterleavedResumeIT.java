package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.UuidV7;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.PostgresProcess;
import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Issue 9 item 3, reproduced deterministically. Transaction A writes row a1, B commits (its commit
 * record ends at LSN c_B), then A writes a2 as the very next WAL record, so a2's LSN is exactly
 * c_B. The relay has published b and stored an offset at or after c_B; it is killed, A commits, the
 * relay restarts. Debezium 3.6.1's {@code WalPositionLocator}, resuming from a COMMIT offset at
 * c_B, takes a2 (LSN == stored LSN) for the last event already processed and skips the rest of A up
 * to its commit: a1 and a2 are lost. The relay must resume from a position where that cannot
 * happen.
 *
 * <p>A private PostgreSQL (autovacuum off) writes no WAL but ours and the relay's; the setup is
 * checked with {@code pg_walinspect} (B's commit record ends at c_B, the record starting at c_B is
 * A's insert) and retried when other WAL got in between. {@code pg_waldump} of the range is
 * printed. The relay's Debezium heartbeats run {@code SELECT 1} (no WAL message), so that a relay
 * which stores offsets at Debezium heartbeats after a commit stores exactly c_B.
 */
class InterleavedResumeIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String INSERT =
      "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload)"
          + " VALUES (?, 'meter', 'interleaved', 'ReadingRecorded', convert_to(?, 'UTF8'))";
  private static final String INSERT_IF_AT =
      "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload)"
          + " SELECT ?, 'meter', 'interleaved', 'ReadingRecorded', convert_to(?, 'UTF8')"
          + " WHERE pg_current_wal_insert_lsn() = ?::pg_lsn";

  @Test
  void rowOfAnOpenTransactionAtTheStoredCommitLsnSurvivesAKill() throws Exception {
    PostgresProcess pg = infra.privatePostgres(Map.of("autovacuum", "off"));
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(pg.jdbcUrl("postgres"));
    ds.setUser("postgres");
    OutboxSchema.migrateOutbox(ds, TableName.DEFAULT_OUTBOX);
    execute(ds, "CREATE EXTENSION IF NOT EXISTS pg_walinspect");

    String stream = infra.streamName() + "_IR";
    String prefix = stream.toLowerCase();
    String slot = prefix + "_slot";
    Map<String, String> env = RelayProcess.env(pg, infra.natsUrl(), stream, prefix);
    debeziumHeartbeatsWithoutWal(env);
    Connection nc = infra.nats();

    List<String> committed = new ArrayList<>();
    Set<String> rolledBack = new HashSet<>();
    Scenario s = null;
    String storedOffset;
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      for (int attempt = 1; attempt <= 10 && s == null; attempt++) {
        s = tryScenario(ds, committed, rolledBack, attempt);
      }
      assertThat(s)
          .as("10 attempts to write a2 right after B's commit record; other WAL got in between")
          .isNotNull();
      long cB = lsn(s.commitB);
      Scenario sc = s;
      Ports.await(
          "the relay to store an offset at or after B's commit "
              + s.commitB
              + "; log:\n"
              + relay.logTail(),
          Duration.ofSeconds(60),
          () -> {
            JsonNode o = storedOffset(ds, slot);
            return o != null && o.path("lsn").asLong(-1) >= cB;
          });
      storedOffset = storedOffset(ds, slot).toString();
      System.out.printf(
          "InterleavedResumeIT: a1 at %s, B (xid %s) commit ends at c_B=%s (%d), a2 (xid %s) at"
              + " c_B; relay's stored offset before the kill: %s%n",
          sc.a1At, sc.xidB, sc.commitB, cB, sc.xidA, storedOffset);
      relay.kill();
    }
    s.a.commit();
    String commitA = query(s.a, "SELECT pg_current_wal_insert_lsn()::text");
    s.a.close();
    committed.add(s.a1);
    committed.add(s.a2);
    String waldump = waldump(ds, s.a1At, commitA);
    System.out.println("pg_waldump " + s.a1At + " .. " + commitA + ":\n" + waldump);

    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      String sentinel = Sentinel.write(ds);
      committed.add(sentinel);
      Sentinel.await(nc, stream, prefix, sentinel, Duration.ofSeconds(90));
      List<StreamContents.Stored> stored = StreamContents.readAll(nc, stream);
      Set<String> inStream = new HashSet<>();
      stored.forEach(m -> inStream.add(m.msgId()));
      List<String> missing = new ArrayList<>(committed);
      missing.removeAll(inStream);
      Set<String> rolledBackSeen = new HashSet<>(rolledBack);
      rolledBackSeen.retainAll(inStream);
      if (!missing.isEmpty() || !rolledBackSeen.isEmpty()) {
        throw new AssertionError(
            "after the restart the stream lacks "
                + missing
                + " (a1="
                + s.a1
                + ", a2="
                + s.a2
                + ") and holds rolled-back "
                + rolledBackSeen
                + ".\nStored offset before the kill: "
                + storedOffset
                + "\nc_B="
                + s.commitB
                + ", A's commit ends at "
                + commitA
                + "\npg_waldump:\n"
                + waldump
                + "\nrestarted relay's resume search:\n"
                + grep(relay.log(), "WalPositionLocator", "LSN")
                + "\nrelay log:\n"
                + relay.logTail());
      }
      Delivery.assertExactlyOnce(nc, stream, committed, Set.of(), Duration.ofSeconds(30));
    }
  }

  /**
   * Makes Debezium's own heartbeats run {@code SELECT 1} (no WAL message), so that a relay that
   * stores offsets at Debezium heartbeats stores commit offsets; and logs Debezium's resume search.
   * Today's relay reads its Debezium pass-through ({@code outboxkit.relay.debezium.*}) only from
   * configuration files, not from environment variables ({@code Environment.getProperties(prefix,
   * RAW)} is empty for them), so both are set.
   */
  static void debeziumHeartbeatsWithoutWal(Map<String, String> env) throws java.io.IOException {
    env.put("OUTBOXKIT_RELAY_DEBEZIUM_HEARTBEAT_ACTION_QUERY", "SELECT 1");
    Path config = Files.createTempFile("relay-no-wal-heartbeat", ".yml");
    config.toFile().deleteOnExit();
    Files.writeString(
        config,
        String.join(
            "\n",
            "outboxkit:",
            "  relay:",
            "    debezium:",
            "      \"heartbeat.action.query\": \"SELECT 1\"",
            "logger:",
            "  levels:",
            "    io.debezium.connector.postgresql.connection: INFO",
            ""));
    env.put("MICRONAUT_CONFIG_FILES", config.toString());
  }

  /** The open transaction A, with a2 written at exactly B's commit end. */
  private record Scenario(
      java.sql.Connection a,
      String a1,
      String a2,
      String a1At,
      String xidA,
      String xidB,
      String commitB) {}

  /**
   * One attempt: A inserts a1, B inserts b and commits, A inserts a2 only if nothing was written
   * since. Returns the scenario with A still open, or null (A rolled back) when other WAL got in
   * between.
   */
  private Scenario tryScenario(
      PGSimpleDataSource ds, List<String> committed, Set<String> rolledBack, int attempt)
      throws Exception {
    java.sql.Connection a = ds.getConnection();
    try (java.sql.Connection b = ds.getConnection()) {
      a.setAutoCommit(false);
      b.setAutoCommit(false);
      String a1 = UuidV7.next().toString();
      String a2 = UuidV7.next().toString();
      String bId = UuidV7.next().toString();
      String a1At = query(a, "SELECT pg_current_wal_insert_lsn()::text");
      insert(a, INSERT, a1, "a1 ü 😀");
      String xidA = query(a, "SELECT pg_current_xact_id()::text");
      insert(b, INSERT, bId, "b");
      String xidB = query(b, "SELECT pg_current_xact_id()::text");
      b.commit();
      String commitB = query(b, "SELECT pg_current_wal_insert_lsn()::text");
      int written;
      try (PreparedStatement ps = a.prepareStatement(INSERT_IF_AT)) {
        ps.setObject(1, java.util.UUID.fromString(a2));
        ps.setString(2, "a2");
        ps.setString(3, commitB);
        written = ps.executeUpdate();
      }
      b.rollback();
      committed.add(bId);
      String why = null;
      if (written == 0) {
        why = "WAL was written between B's commit and a2";
      } else {
        Ports.await(
            "WAL flushed past " + commitB,
            Duration.ofSeconds(10),
            () -> lsn(queryOrNull(ds, "SELECT pg_current_wal_flush_lsn()::text")) > lsn(commitB));
        why = checkWal(ds, a1At, commitB, xidA, xidB);
      }
      if (why != null) {
        System.out.printf("InterleavedResumeIT attempt %d: %s; again%n", attempt, why);
        a.rollback();
        a.close();
        rolledBack.add(a1);
        rolledBack.add(a2);
        return null;
      }
      return new Scenario(a, a1, a2, a1At, xidA, xidB, commitB);
    } catch (SQLException | RuntimeException e) {
      a.close();
      throw e;
    }
  }

  /** Null when B's commit record ends at c_B and the record at c_B is A's insert; else why not. */
  private static String checkWal(
      PGSimpleDataSource ds, String from, String commitB, String xidA, String xidB)
      throws SQLException {
    boolean commitEndsThere = false;
    String atCommitB = "nothing";
    try (java.sql.Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT start_lsn::text, end_lsn::text, xid::text, resource_manager, record_type"
                    + " FROM pg_get_wal_records_info(?::pg_lsn, pg_current_wal_flush_lsn())")) {
      ps.setString(1, from);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (rs.getString(3).equals(xidB)
              && rs.getString(5).startsWith("COMMIT")
              && rs.getString(2).equals(commitB)) {
            commitEndsThere = true;
          }
          if (rs.getString(1).equals(commitB)) {
            atCommitB = rs.getString(4) + "/" + rs.getString(5) + " of xid " + rs.getString(3);
          }
        }
      }
    }
    if (!commitEndsThere) {
      return "B's commit record does not end at " + commitB;
    }
    if (!atCommitB.startsWith("Heap/INSERT") || !atCommitB.endsWith(" of xid " + xidA)) {
      return "the record at " + commitB + " is " + atCommitB + ", not A's insert";
    }
    return null;
  }

  /** The relay's stored Debezium offset of {@code slot}, or null. */
  private static JsonNode storedOffset(PGSimpleDataSource ds, String slot) {
    try {
      String v =
          queryOrNull(
              ds,
              "SELECT convert_from(offset_value, 'UTF8') FROM outboxkit.relay_offsets"
                  + " WHERE slot_name = '"
                  + slot
                  + "'");
      return v == null ? null : JSON.readTree(v);
    } catch (Exception e) {
      return null; // the table does not exist before the relay's first start
    }
  }

  /** {@code pg_waldump} of the range, from the server's own data directory. */
  private static String waldump(PGSimpleDataSource ds, String from, String to) throws Exception {
    String dataDir = queryOrNull(ds, "SHOW data_directory");
    int major = Integer.parseInt(queryOrNull(ds, "SHOW server_version_num")) / 10000;
    Path bin = Path.of("/usr/lib/postgresql", Integer.toString(major), "bin", "pg_waldump");
    if (!Files.isExecutable(bin)) {
      return "(no " + bin + ")";
    }
    Path out = Files.createTempFile("waldump", ".txt");
    try {
      Process p =
          new ProcessBuilder(bin.toString(), "-p", dataDir + "/pg_wal", "-s", from, "-e", to)
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
      return Files.readString(out, StandardCharsets.UTF_8);
    } finally {
      Files.deleteIfExists(out);
    }
  }

  private static String grep(String log, String... words) {
    StringBuilder sb = new StringBuilder();
    for (String line : log.split("\n")) {
      for (String w : words) {
        if (line.contains(w)) {
          sb.append(line).append('\n');
          break;
        }
      }
    }
    return sb.toString();
  }

  static long lsn(String text) {
    if (text == null) {
      return -1;
    }
    int slash = text.indexOf('/');
    return (Long.parseLong(text.substring(0, slash), 16) << 32)
        | Long.parseLong(text.substring(slash + 1), 16);
  }

  private static void insert(java.sql.Connection c, String sql, String id, String payload)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, java.util.UUID.fromString(id));
      ps.setString(2, payload);
      ps.executeUpdate();
    }
  }

  private static String query(java.sql.Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  private static String queryOrNull(PGSimpleDataSource ds, String sql) {
    try (java.sql.Connection c = ds.getConnection()) {
      return query(c, sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  private static void execute(PGSimpleDataSource ds, String sql) throws SQLException {
    try (java.sql.Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
