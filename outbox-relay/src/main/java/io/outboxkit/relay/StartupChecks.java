package io.outboxkit.relay;

import io.outboxkit.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the relay checks in the source database before it streams, each failure naming the fix:
 * {@code wal_level}, the {@code REPLICATION} privilege, the outbox tables and their columns, the
 * publication, and whether the slot and the stored offsets still belong together. It also creates
 * the relay's state tables, the publication and, on the first start only, the slot.
 */
final class StartupChecks {
  private static final Logger log = LoggerFactory.getLogger(StartupChecks.class);

  /** Columns the relay reads, and the types it accepts. */
  private static final Map<String, List<String>> COLUMNS =
      Map.of(
          "id", List.of("uuid"),
          "aggregate_type", List.of("text", "character varying"),
          "aggregate_id", List.of("text", "character varying"),
          "event_type", List.of("text", "character varying"),
          "payload", List.of("bytea"),
          "headers", List.of("jsonb"));

  private final RelaySettings settings;
  private final SourceDatabase db;

  StartupChecks(RelaySettings settings, SourceDatabase db) {
    this.settings = settings;
    this.db = db;
  }

  /** Runs every check; creates what is missing and allowed. */
  void run() {
    try (Connection c = db.connect()) {
      walLevel(c);
      replicationPrivilege(c);
      for (TableName t : settings.tables()) {
        outboxTable(c, t);
      }
      publication(c);
      stateTables();
      slotAndOffsets(c);
    } catch (SQLException e) {
      throw db.translate(e, "checking");
    }
  }

  private void walLevel(Connection c) throws SQLException {
    String level = one(c, "SHOW wal_level");
    if (!"logical".equals(level)) {
      throw RelayException.fatal(
          "PostgreSQL has wal_level="
              + level
              + "; the relay reads the write-ahead log by logical decoding, which needs"
              + " wal_level=logical: run ALTER SYSTEM SET wal_level = logical; then restart"
              + " PostgreSQL");
    }
  }

  private void replicationPrivilege(Connection c) throws SQLException {
    String ok =
        one(
            c,
            "SELECT (rolreplication OR rolsuper)::text FROM pg_roles WHERE rolname = current_user");
    if (!"true".equals(ok)) {
      throw RelayException.fatal(
          "database user "
              + settings.dbUser()
              + " lacks the REPLICATION privilege the relay needs to stream the WAL: run ALTER ROLE "
              + settings.dbUser()
              + " WITH REPLICATION; (and allow replication connections in pg_hba.conf)");
    }
  }

  private void outboxTable(Connection c, TableName t) throws SQLException {
    Map<String, String> types = new HashMap<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT column_name, data_type FROM information_schema.columns"
                + " WHERE table_schema = ? AND table_name = ?")) {
      ps.setString(1, t.schema());
      ps.setString(2, t.name());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          types.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    if (types.isEmpty()) {
      throw RelayException.fatal(
          "outbox table "
              + t
              + " does not exist in database "
              + settings.dbName()
              + ": create it (OutboxSchema.migrateOutbox in Java, or the SQL in the README), or fix"
              + " outboxkit.relay.tables");
    }
    for (Map.Entry<String, List<String>> col : COLUMNS.entrySet()) {
      String type = types.get(col.getKey());
      if (type == null || !col.getValue().contains(type)) {
        throw RelayException.fatal(
            "outbox table "
                + t
                + " has "
                + (type == null
                    ? "no column " + col.getKey()
                    : "column " + col.getKey() + " of type " + type)
                + "; the relay needs "
                + col.getKey()
                + " of type "
                + String.join(" or ", col.getValue())
                + ": create the table with OutboxSchema.migrateOutbox (README: the outbox table)");
      }
    }
  }

  private void publication(Connection c) throws SQLException {
    String pub = settings.publication();
    List<String> wanted = settings.tables().stream().map(TableName::qualified).toList();
    Boolean insert = null;
    try (PreparedStatement ps =
        c.prepareStatement("SELECT pubinsert FROM pg_publication WHERE pubname = ?")) {
      ps.setString(1, pub);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          insert = rs.getBoolean(1);
        }
      }
    }
    boolean create = settings.raw().createPublication();
    if (insert == null) {
      if (!create) {
        throw RelayException.fatal(
            "publication "
                + pub
                + " does not exist and outboxkit.relay.create-publication is false: run CREATE"
                + " PUBLICATION "
                + pub
                + " FOR TABLE "
                + String.join(", ", wanted)
                + " WITH (publish = 'insert');");
      }
      String sql =
          "CREATE PUBLICATION "
              + pub
              + " FOR TABLE "
              + String.join(", ", withColumns(c, wanted))
              + " WITH (publish = 'insert')";
      try (Statement s = c.createStatement()) {
        s.execute(sql);
        log.info("created publication {} for {}", pub, wanted);
      } catch (SQLException e) {
        throw RelayException.fatal(
            "creating publication "
                + pub
                + " failed ("
                + e.getMessage()
                + "): the user needs to own"
                + " the outbox tables, or a superuser runs: "
                + sql
                + ";");
      }
      return;
    }
    if (!insert) {
      throw RelayException.fatal(
          "publication "
              + pub
              + " does not publish inserts: run ALTER PUBLICATION "
              + pub
              + " SET (publish = 'insert');");
    }
    List<String> present = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = ?")) {
      ps.setString(1, pub);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          present.add(rs.getString(1));
        }
      }
    }
    List<String> missing = wanted.stream().filter(t -> !present.contains(t)).toList();
    if (!missing.isEmpty()) {
      String sql =
          "ALTER PUBLICATION " + pub + " ADD TABLE " + String.join(", ", withColumns(c, missing));
      if (!create) {
        throw RelayException.fatal(
            "publication " + pub + " does not include " + missing + ": run " + sql + ";");
      }
      try (Statement s = c.createStatement()) {
        s.execute(sql);
        log.info("added {} to publication {}", missing, pub);
      } catch (SQLException e) {
        throw RelayException.fatal(
            "publication "
                + pub
                + " lacks "
                + missing
                + " and adding them failed ("
                + e.getMessage()
                + "): run "
                + sql
                + "; as the tables' owner");
      }
    }
    List<String> extra = present.stream().filter(t -> !wanted.contains(t)).toList();
    if (!extra.isEmpty()) {
      log.warn(
          "publication {} also publishes {}, which are not outbox tables: their rows are decoded"
              + " and skipped; give the relay a publication of its own",
          pub,
          extra);
    }
  }

  /**
   * On PostgreSQL 15 and later, a publication names the columns it sends: the relay's six, not
   * {@code created_at} or columns a user added, so the server does not send them and Debezium does
   * not decode them.
   */
  private static List<String> withColumns(Connection c, List<String> tables) throws SQLException {
    if (c.getMetaData().getDatabaseMajorVersion() < 15) {
      return tables;
    }
    String columns = " (" + String.join(", ", new java.util.TreeSet<>(COLUMNS.keySet())) + ")";
    return tables.stream().map(t -> t + columns).toList();
  }

  private void stateTables() {
    TableName offsets = settings.offsetsTable();
    try {
      migrateStateTables(offsets);
    } catch (org.flywaydb.core.api.exception.FlywayValidateException e) {
      throw RelayException.fatal(
          "the relay's state tables in schema "
              + offsets.schema()
              + " do not match this version's migrations ("
              + e.getMessage().lines().findFirst().orElse("")
              + "): do not edit them by hand; restore them or use a new outboxkit.relay.offsets-table");
    } catch (org.flywaydb.core.api.FlywayException e) {
      throw RelayException.retryable(
          "creating the relay's state tables failed: " + e.getMessage(), e);
    }
  }

  private void migrateStateTables(TableName offsets) {
    Flyway.configure(StartupChecks.class.getClassLoader())
        .dataSource(settings.jdbcUrl(), settings.dbUser(), settings.dbPassword())
        .schemas(offsets.schema())
        .createSchemas(true)
        .table(offsets.name() + "_schema_history")
        .locations("classpath:io/outboxkit/relay/migration")
        .placeholders(Map.of("schema", offsets.schema(), "offsets", offsets.name()))
        .load()
        .migrate();
  }

  /** The slot as PostgreSQL has it, or null. */
  record Slot(String plugin, String database, String confirmedFlushLsn, Integer activePid) {}

  /** What the relay recorded when it first used the slot, or null. */
  record SlotRecord(
      String createdLsn, String publication, String database, boolean offsetsStored) {}

  private void slotAndOffsets(Connection c) throws SQLException {
    String slotName = settings.slot();
    Slot slot = slot(c, slotName);
    SlotRecord record = slotRecord(c, slotName);
    String offsetsTable = settings.offsetsTable().qualified();
    String offsetLsn = offsetLsn(c);

    if (slot != null) {
      if (!"pgoutput".equals(slot.plugin())) {
        throw RelayException.fatal(
            "replication slot "
                + slotName
                + " uses plugin "
                + slot.plugin()
                + ", not pgoutput: give the relay its own slot (outboxkit.relay.slot-name), or drop"
                + " this one if nothing else uses it: SELECT pg_drop_replication_slot('"
                + slotName
                + "');");
      }
      if (!settings.dbName().equals(slot.database())) {
        throw RelayException.fatal(
            "replication slot "
                + slotName
                + " belongs to database "
                + slot.database()
                + ", not "
                + settings.dbName()
                + ": choose another outboxkit.relay.slot-name");
      }
    }
    if (record != null && !record.publication().equals(settings.publication())) {
      throw RelayException.fatal(
          "replication slot "
              + slotName
              + " was used with publication "
              + record.publication()
              + ", and the relay is now set to publication "
              + settings.publication()
              + ": switching publications on one slot can skip events; set"
              + " outboxkit.relay.publication-name="
              + record.publication()
              + " or use a new slot name");
    }
    if (slot == null && (record != null || offsetLsn != null)) {
      throw RelayException.fatal(
          "replication slot "
              + slotName
              + " is gone, but the relay streamed from it before"
              + (offsetLsn != null ? " (last committed offset at LSN " + offsetLsn + ")" : "")
              + ". It was dropped while the relay was down, so the WAL of events committed since"
              + " then may be gone and they cannot be relayed. The relay refuses to start from now"
              + " silently. After you have dealt with the gap (e.g. republish rows still in the"
              + " outbox table), reset with: DELETE FROM "
              + offsetsTable
              + " WHERE slot_name = '"
              + slotName
              + "'; DELETE FROM "
              + offsetsTable
              + "_slots WHERE slot_name = '"
              + slotName
              + "';");
    }
    if (slot != null && record != null && record.offsetsStored() && offsetLsn == null) {
      throw RelayException.fatal(
          "the stored offsets of slot "
              + slotName
              + " in "
              + offsetsTable
              + " are missing"
              + " (truncated?), though the relay has streamed from this slot before. The relay"
              + " will not guess where to resume. The slot still holds every event it has not"
              + " confirmed, so resuming from the slot is safe (JetStream drops replays inside its"
              + " duplicate window): run DELETE FROM "
              + offsetsTable
              + "_slots WHERE slot_name = '"
              + slotName
              + "'; and start again.");
    }
    if (slot != null && offsetLsn != null && compareLsn(slot.confirmedFlushLsn(), offsetLsn) > 0) {
      throw RelayException.fatal(
          "replication slot "
              + slotName
              + " has confirmed LSN "
              + slot.confirmedFlushLsn()
              + ", past the relay's stored offset "
              + offsetLsn
              + ": it was recreated or advanced by"
              + " another client, so events in between would be skipped. Find who uses the slot;"
              + " to accept the gap, reset with: DELETE FROM "
              + offsetsTable
              + " WHERE slot_name = '"
              + slotName
              + "';");
    }
    if (slot == null) {
      String lsn =
          one(
              c,
              "SELECT lsn::text FROM pg_create_logical_replication_slot('"
                  + slotName
                  + "', 'pgoutput')");
      log.info("created replication slot {} at LSN {}", slotName, lsn);
      recordSlot(c, lsn);
    } else if (record == null) {
      log.warn(
          "adopting existing replication slot {} (confirmed LSN {}): the relay resumes where it"
              + " stands",
          slotName,
          slot.confirmedFlushLsn());
      recordSlot(c, slot.confirmedFlushLsn());
    }
  }

  private Slot slot(Connection c, String name) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT plugin, database, confirmed_flush_lsn::text, active_pid FROM pg_replication_slots"
                + " WHERE slot_name = ?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? new Slot(rs.getString(1), rs.getString(2), rs.getString(3), (Integer) rs.getObject(4))
            : null;
      }
    }
  }

  private SlotRecord slotRecord(Connection c, String name) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT created_lsn::text, publication, database, first_offset_at IS NOT NULL FROM "
                + settings.offsetsTable().qualified()
                + "_slots WHERE slot_name = ?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? new SlotRecord(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4))
            : null;
      }
    }
  }

  private void recordSlot(Connection c, String lsn) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO "
                + settings.offsetsTable().qualified()
                + "_slots (slot_name, created_lsn, publication, database) VALUES (?, ?::pg_lsn, ?, ?)"
                + " ON CONFLICT (slot_name) DO NOTHING")) {
      ps.setString(1, settings.slot());
      ps.setString(2, lsn);
      ps.setString(3, settings.publication());
      ps.setString(4, settings.dbName());
      ps.executeUpdate();
    }
  }

  /** The LSN of the stored offset, or null when there is none. Corrupt rows fail loudly. */
  private String offsetLsn(Connection c) {
    java.util.Map<java.nio.ByteBuffer, java.nio.ByteBuffer> rows;
    try {
      rows =
          PostgresOffsetStore.load(
              settings.jdbcUrl(),
              settings.dbUser(),
              settings.dbPassword(),
              settings.offsetsTable().qualified(),
              settings.slot());
    } catch (PostgresOffsetStore.CorruptOffsetException e) {
      throw RelayException.fatal(e.getMessage());
    }
    return rows.values().stream()
        .map(v -> OffsetLsn.lsnOf(v))
        .filter(java.util.Objects::nonNull)
        .max(Long::compareUnsigned)
        .map(OffsetLsn::format)
        .orElse(null);
  }

  static int compareLsn(String a, String b) {
    return Long.compareUnsigned(OffsetLsn.parse(a), OffsetLsn.parse(b));
  }

  private static String one(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }
}
