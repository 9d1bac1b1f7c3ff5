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
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the relay checks in the source database before it streams, each failure naming the fix:
 * {@code wal_level}, every privilege the relay's role needs (with the {@code GRANT} that gives it),
 * the outbox tables and their columns, the publication, and whether the slot and the stored offsets
 * still belong together ({@link ResumeSafety}). What is missing and allowed, {@link Provisioning}
 * creates.
 */
final class StartupChecks {
  private static final Logger log = LoggerFactory.getLogger(StartupChecks.class);

  private final RelaySettings settings;
  private final SourceDatabase db;
  private final Provisioning provisioning;

  StartupChecks(RelaySettings settings, SourceDatabase db) {
    this.settings = settings;
    this.db = db;
    this.provisioning = new Provisioning(settings);
  }

  /** Runs every check; creates what is missing and allowed. */
  void run() {
    try (Connection c = db.connect()) {
      String role = one(c, "SELECT current_user");
      walLevel(c);
      replicationPrivilege(c, role);
      for (TableName t : settings.tables()) {
        outboxTable(c, t);
      }
      emitMessagePrivilege(c, role);
      publication(c, role);
      stateSchemaPrivileges(c, role);
      provisioning.stateTables();
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

  private void replicationPrivilege(Connection c, String role) throws SQLException {
    String ok =
        one(
            c,
            "SELECT (rolreplication OR rolsuper)::text FROM pg_roles WHERE rolname = current_user");
    if (!"true".equals(ok)) {
      throw RelayException.fatal(
          "database user "
              + role
              + " lacks the REPLICATION privilege the relay needs to stream the WAL: run ALTER ROLE "
              + role
              + " WITH REPLICATION; (and allow replication connections in pg_hba.conf)");
    }
  }

  private void emitMessagePrivilege(Connection c, String role) throws SQLException {
    String fn = "pg_catalog.pg_logical_emit_message(boolean, text, text)";
    if (!"true".equals(one(c, "SELECT has_function_privilege('" + fn + "', 'EXECUTE')::text"))) {
      throw RelayException.fatal(
          "database user "
              + role
              + " lacks EXECUTE on "
              + fn
              + ", which writes the relay's checkpoints into the WAL: run GRANT EXECUTE ON"
              + " FUNCTION "
              + fn
              + " TO "
              + role
              + ";");
    }
  }

  private void outboxTable(Connection c, TableName t) throws SQLException {
    Map<String, String> types = new HashMap<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a"
                + " JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace n ON n.oid ="
                + " r.relnamespace WHERE n.nspname = ? AND r.relname = ? AND a.attnum > 0 AND NOT"
                + " a.attisdropped")) {
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
    ColumnMap map = settings.columns();
    for (ColumnMap.Column col : map.columns()) {
      String type = types.get(col.name());
      if (type == null || !col.types().contains(type)) {
        String setting = "outboxkit.relay." + col.setting();
        throw RelayException.fatal(
            "outbox table "
                + t
                + " has "
                + (type == null
                    ? "no column " + col.name()
                    : "column " + col.name() + " of type " + type)
                + ", which setting "
                + setting
                + " (env "
                + setting.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_')
                + ") names; the relay needs it of type "
                + String.join(" or ", col.types())
                + ": name the right column in "
                + setting
                + (col.setting().equals("columns.headers") ? " (none: the table has none)" : "")
                + ", or outboxkit.relay.columns.preset=debezium for a table made for Debezium's"
                + " outbox event router, or create the table with OutboxSchema.migrateOutbox"
                + " (README: the outbox table); columns: "
                + new java.util.TreeMap<>(types));
      }
    }
    if (map.createdAt() != null && !types.containsKey(map.createdAt())) {
      log.warn(
          "outbox table {} has no column {} (outboxkit.relay.columns.created-at): the CLI cannot"
              + " replay rows by time; set it to none to silence this",
          t,
          map.createdAt());
    }
  }

  private void publication(Connection c, String role) throws SQLException {
    String pub = settings.publication();
    List<String> wanted = settings.tables().stream().map(TableName::qualified).toList();
    Boolean insert = null;
    boolean ownsPublication = false;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT pubinsert, pg_has_role(pubowner, 'USAGE') FROM pg_publication WHERE pubname ="
                + " ?")) {
      ps.setString(1, pub);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          insert = rs.getBoolean(1);
          ownsPublication = rs.getBoolean(2);
        }
      }
    }
    boolean create = settings.createPublication();
    if (insert == null) {
      String sql = Provisioning.createPublicationSql(pub, wanted) + ";";
      if (!create) {
        throw RelayException.fatal(
            "publication "
                + pub
                + " does not exist and outboxkit.relay.create-publication is false: an"
                + " administrator runs "
                + sql);
      }
      if (!"true"
          .equals(one(c, "SELECT has_database_privilege(current_database(), 'CREATE')::text"))) {
        throw RelayException.fatal(
            "database user "
                + role
                + " lacks CREATE on database "
                + settings.dbName()
                + ", needed to create publication "
                + pub
                + ": run GRANT CREATE ON DATABASE "
                + settings.dbName()
                + " TO "
                + role
                + "; or have an administrator run "
                + sql
                + " and set outboxkit.relay.create-publication=false");
      }
      requireOwnership(c, role, wanted, sql);
      provisioning.createPublication(c, wanted);
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
      String sql = "ALTER PUBLICATION " + pub + " ADD TABLE " + String.join(", ", missing) + ";";
      if (!create) {
        throw RelayException.fatal(
            "publication " + pub + " does not include " + missing + ": run " + sql);
      }
      if (!ownsPublication) {
        throw RelayException.fatal(
            "publication "
                + pub
                + " does not include "
                + missing
                + " and database user "
                + role
                + " does not own it, so it cannot add them: its owner runs "
                + sql);
      }
      requireOwnership(c, role, missing, sql);
      provisioning.addToPublication(c, missing);
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

  /** PostgreSQL lets only a table's owner add it to a publication. */
  private void requireOwnership(Connection c, String role, List<String> tables, String sql)
      throws SQLException {
    for (String t : tables) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT pg_has_role(relowner, 'USAGE'), relowner::regrole::text FROM pg_class"
                  + " WHERE oid = ?::regclass")) {
        ps.setString(1, t);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (!rs.getBoolean(1)) {
            throw RelayException.fatal(
                "database user "
                    + role
                    + " does not own outbox table "
                    + t
                    + " (owner "
                    + rs.getString(2)
                    + "), and only a table's owner can publish it: run ALTER TABLE "
                    + t
                    + " OWNER TO "
                    + role
                    + "; or have an administrator run "
                    + sql
                    + " and set outboxkit.relay.create-publication=false (README: Security)");
          }
        }
      }
    }
  }

  /**
   * The state tables live in a schema of the relay's own. A missing schema needs CREATE on the
   * database; an existing one USAGE and CREATE (for its migrations); existing tables read and write
   * rights.
   */
  private void stateSchemaPrivileges(Connection c, String role) throws SQLException {
    TableName offsets = settings.offsetsTable();
    String schema = offsets.schema();
    Boolean[] schemaRights = null;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT has_schema_privilege(oid, 'USAGE'), has_schema_privilege(oid, 'CREATE')"
                + " FROM pg_namespace WHERE nspname = ?")) {
      ps.setString(1, schema);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          schemaRights = new Boolean[] {rs.getBoolean(1), rs.getBoolean(2)};
        }
      }
    }
    if (schemaRights == null) {
      if (!"true"
          .equals(one(c, "SELECT has_database_privilege(current_database(), 'CREATE')::text"))) {
        throw RelayException.fatal(
            "schema "
                + schema
                + " of the relay's state tables (outboxkit.relay.offsets-table) does not exist,"
                + " and database user "
                + role
                + " lacks CREATE on database "
                + settings.dbName()
                + " to create it: have an administrator run CREATE SCHEMA "
                + schema
                + " AUTHORIZATION "
                + role
                + "; (or GRANT CREATE ON DATABASE "
                + settings.dbName()
                + " TO "
                + role
                + ";)");
      }
      return;
    }
    if (!schemaRights[0] || !schemaRights[1]) {
      throw RelayException.fatal(
          "database user "
              + role
              + " lacks "
              + (!schemaRights[0] ? "USAGE" : "CREATE")
              + " on schema "
              + schema
              + ", where the relay keeps its state tables: run GRANT USAGE, CREATE ON SCHEMA "
              + schema
              + " TO "
              + role
              + "; (or use a schema of the relay's own: outboxkit.relay.offsets-table)");
    }
    for (String table :
        List.of(
            offsets.name(),
            offsets.name() + "_slots",
            offsets.name() + "_leaders",
            offsets.name() + "_schema_history")) {
      String qualified = schema + "." + table;
      for (String right : List.of("SELECT", "INSERT", "UPDATE", "DELETE")) {
        try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT has_table_privilege(c.oid, ?) FROM pg_class c JOIN pg_namespace n"
                    + " ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ?")) {
          ps.setString(1, right);
          ps.setString(2, schema);
          ps.setString(3, table);
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next() && !rs.getBoolean(1)) {
              throw RelayException.fatal(
                  "database user "
                      + role
                      + " lacks "
                      + right
                      + " on the relay's state table "
                      + qualified
                      + ": run GRANT SELECT, INSERT, UPDATE, DELETE ON "
                      + qualified
                      + " TO "
                      + role
                      + "; (or ALTER TABLE "
                      + qualified
                      + " OWNER TO "
                      + role
                      + ";)");
            }
          }
        }
      }
    }
  }

  private void slotAndOffsets(Connection c) throws SQLException {
    String slotName = settings.slot();
    ResumeSafety.Slot slot = null;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT plugin, database, confirmed_flush_lsn::text FROM pg_replication_slots"
                + " WHERE slot_name = ?")) {
      ps.setString(1, slotName);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          slot = new ResumeSafety.Slot(rs.getString(1), rs.getString(2), rs.getString(3));
        }
      }
    }
    ResumeSafety.SlotRecord record = null;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT publication, first_offset_at IS NOT NULL FROM "
                + settings.offsetsTable().qualified()
                + "_slots WHERE slot_name = ?")) {
      ps.setString(1, slotName);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          record = new ResumeSafety.SlotRecord(rs.getString(1), rs.getBoolean(2));
        }
      }
    }
    ResumeSafety.Names names =
        new ResumeSafety.Names(
            slotName,
            settings.dbName(),
            settings.publication(),
            settings.offsetsTable().qualified());
    switch (ResumeSafety.decide(names, slot, record, stored())) {
      case CREATE_SLOT -> provisioning.createSlot(c);
      case ADOPT_SLOT -> {
        log.warn(
            "adopting existing replication slot {} (confirmed LSN {}): the relay resumes where it"
                + " stands",
            slotName,
            slot.confirmedFlushLsn());
        provisioning.recordSlot(c, slot.confirmedFlushLsn());
      }
      case RESUME -> {
        // the slot and the relay's records belong together
      }
    }
  }

  /** The stored offset; rows that do not parse are reported, never skipped. */
  private ResumeSafety.Stored stored() {
    Map<java.nio.ByteBuffer, java.nio.ByteBuffer> rows;
    try {
      rows =
          PostgresOffsetStore.load(
              settings.jdbcProperties(), settings.offsetsTable().qualified(), settings.slot());
    } catch (PostgresOffsetStore.CorruptOffsetException e) {
      return ResumeSafety.Stored.corrupt(e.getMessage());
    }
    return rows.values().stream()
        .map(OffsetLsn::lsnOf)
        .filter(Objects::nonNull)
        .max(Long::compareUnsigned)
        .map(l -> ResumeSafety.Stored.at(OffsetLsn.format(l)))
        .orElse(ResumeSafety.Stored.none());
  }

  private static String one(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }
}
