package io.outboxkit.relay;

import io.outboxkit.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the relay creates in the source database, after {@link StartupChecks} found it missing and
 * the role allowed to create it: the publication (or its missing tables), the relay's state tables
 * and, on the first start only, the replication slot.
 */
final class Provisioning {
  private static final Logger log = LoggerFactory.getLogger(Provisioning.class);

  private final RelaySettings settings;

  Provisioning(RelaySettings settings) {
    this.settings = settings;
  }

  /** The SQL that creates the relay's publication for {@code tables}. */
  static String createPublicationSql(String pub, List<String> tables) {
    return "CREATE PUBLICATION "
        + pub
        + " FOR TABLE "
        + String.join(", ", tables)
        + " WITH (publish = 'insert')";
  }

  void createPublication(Connection c, List<String> tables) throws SQLException {
    String sql = createPublicationSql(settings.publication(), withColumns(c, tables));
    try (Statement s = c.createStatement()) {
      s.execute(sql);
      log.info("created publication {} for {}", settings.publication(), tables);
    } catch (SQLException e) {
      throw RelayException.fatal(
          "creating publication "
              + settings.publication()
              + " failed ("
              + e.getMessage()
              + "): the relay's role must own the outbox tables, or an administrator runs: "
              + sql
              + "; and sets outboxkit.relay.create-publication=false");
    }
  }

  void addToPublication(Connection c, List<String> missing) throws SQLException {
    String sql =
        "ALTER PUBLICATION "
            + settings.publication()
            + " ADD TABLE "
            + String.join(", ", withColumns(c, missing));
    try (Statement s = c.createStatement()) {
      s.execute(sql);
      log.info("added {} to publication {}", missing, settings.publication());
    } catch (SQLException e) {
      throw RelayException.fatal(
          "publication "
              + settings.publication()
              + " lacks "
              + missing
              + " and adding them failed ("
              + e.getMessage()
              + "): run "
              + sql
              + "; as the owner of the publication and the tables");
    }
  }

  /**
   * On PostgreSQL 15 and later, a publication names the columns it sends: the relay's (six by
   * default, {@link ColumnMap}), not {@code created_at} or columns a user added, so the server does
   * not send them and Debezium does not decode them.
   */
  List<String> withColumns(Connection c, List<String> tables) throws SQLException {
    if (c.getMetaData().getDatabaseMajorVersion() < 15) {
      return tables;
    }
    String columns = " (" + String.join(", ", settings.columns().published()) + ")";
    return tables.stream().map(t -> t + columns).toList();
  }

  /** Creates or migrates the relay's state tables (Flyway, in the offsets table's schema). */
  void stateTables() {
    TableName offsets = settings.offsetsTable();
    try {
      StateTables.migrate(settings);
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

  /** Creates the slot and records it; returns its LSN. */
  String createSlot(Connection c) throws SQLException {
    String lsn;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pgoutput')")) {
      ps.setString(1, settings.slot());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        lsn = rs.getString(1);
      }
    }
    log.info("created replication slot {} at LSN {}", settings.slot(), lsn);
    recordSlot(c, lsn);
    return lsn;
  }

  /** Records that the relay uses the slot from {@code lsn} on. */
  void recordSlot(Connection c, String lsn) throws SQLException {
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
}
