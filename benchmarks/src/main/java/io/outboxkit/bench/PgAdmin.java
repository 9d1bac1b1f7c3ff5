package io.outboxkit.bench;

import io.outboxkit.bench.BenchConfig.PgServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.ds.PGSimpleDataSource;

/** Administration of the PostgreSQL server: databases, schemas, slots, publications. */
final class PgAdmin {
  private final PgServer pg;

  PgAdmin(PgServer pg) {
    this.pg = pg;
  }

  PgServer server() {
    return pg;
  }

  Connection connect(String database) throws SQLException {
    return DriverManager.getConnection(pg.jdbcUrl(database), pg.user(), pg.password());
  }

  /** A non-pooled data source; {@code reWriteBatchedInserts} makes a JDBC batch one INSERT. */
  PGSimpleDataSource dataSource(String database) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(pg.jdbcUrl(database));
    ds.setUser(pg.user());
    ds.setPassword(pg.password());
    ds.setReWriteBatchedInserts(true);
    ds.setApplicationName("outboxkit-bench");
    return ds;
  }

  /** Checks that the server answers and has wal_level=logical; returns its version line. */
  String check() {
    try (Connection c = connect(pg.adminDatabase());
        Statement s = c.createStatement()) {
      String level = one(s, "SHOW wal_level");
      if (!"logical".equals(level)) {
        throw new BenchException(
            "PostgreSQL at "
                + pg.host()
                + ":"
                + pg.port()
                + " has wal_level="
                + level
                + "; both relays need logical: ALTER SYSTEM SET wal_level = logical and restart it");
      }
      return one(s, "SELECT version()");
    } catch (SQLException e) {
      throw new BenchException(
          "cannot connect to PostgreSQL at "
              + pg.host()
              + ":"
              + pg.port()
              + " as "
              + pg.user()
              + " (database "
              + pg.adminDatabase()
              + "): "
              + e.getMessage()
              + ". Give --pg-host/--pg-port/--pg-user/--pg-password/--pg-admin-db",
          e);
    }
  }

  void createDatabase(String name) {
    exec(pg.adminDatabase(), "CREATE DATABASE " + name);
  }

  /** Drops the database after dropping its replication slots (they keep it alive). */
  void dropDatabase(String name) {
    dropSlotsWhere("database = '" + name + "'");
    exec(pg.adminDatabase(), "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

  void dropSlot(String slot) {
    dropSlotsWhere("slot_name = '" + slot + "'");
  }

  /**
   * Drops matching slots; an active one is given 10 s to be released, then its walsender is ended
   * (the process using it is ours and stopped, or gone).
   */
  void dropSlotsWhere(String condition) {
    long deadline = System.currentTimeMillis() + 10_000;
    boolean terminated = false;
    while (true) {
      List<String> active = new ArrayList<>();
      try (Connection c = connect(pg.adminDatabase());
          Statement s = c.createStatement()) {
        List<String> inactive = new ArrayList<>();
        try (ResultSet rs =
            s.executeQuery(
                "SELECT slot_name, active FROM pg_replication_slots WHERE " + condition)) {
          while (rs.next()) {
            (rs.getBoolean(2) ? active : inactive).add(rs.getString(1));
          }
        }
        for (String slot : inactive) {
          try {
            s.execute("SELECT pg_drop_replication_slot('" + slot + "')");
          } catch (SQLException e) {
            active.add(slot); // became active in between, or dropped by someone else
          }
        }
        if (active.isEmpty()) {
          return;
        }
        if (System.currentTimeMillis() > deadline) {
          if (terminated) {
            throw new BenchException("replication slots " + active + " stay active");
          }
          s.execute(
              "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE "
                  + condition
                  + " AND active_pid IS NOT NULL");
          terminated = true;
          deadline = System.currentTimeMillis() + 10_000;
        }
      } catch (SQLException e) {
        throw new BenchException("dropping replication slots: " + e.getMessage(), e);
      }
      Clock.sleep(200);
    }
  }

  void dropSchema(String database, String schema) {
    exec(database, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  }

  void dropPublication(String database, String publication) {
    exec(database, "DROP PUBLICATION IF EXISTS " + publication);
  }

  /** CHECKPOINT, so that one system's writes are not flushed during the next one's run. */
  void checkpoint() {
    exec(pg.adminDatabase(), "CHECKPOINT");
  }

  List<String> databases() {
    return strings(pg.adminDatabase(), "SELECT datname FROM pg_database");
  }

  List<String> slots() {
    return strings(pg.adminDatabase(), "SELECT slot_name FROM pg_replication_slots");
  }

  List<String> strings(String database, String sql) {
    List<String> out = new ArrayList<>();
    try (Connection c = connect(database);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
      return out;
    } catch (SQLException e) {
      throw new BenchException(sql + ": " + e.getMessage(), e);
    }
  }

  void exec(String database, String sql) {
    try (Connection c = connect(database);
        Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new BenchException(sql + " (database " + database + "): " + e.getMessage(), e);
    }
  }

  private static String one(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
