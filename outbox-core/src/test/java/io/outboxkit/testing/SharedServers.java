package io.outboxkit.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL and NATS servers shared by all tests of one JVM, found once in this order:
 * environment variables ({@code OUTBOXKIT_PG_URL}, {@code OUTBOXKIT_NATS_URL}); Testcontainers when
 * a Docker engine answers; otherwise local binaries started here and stopped at JVM exit.
 */
final class SharedServers {
  private static final Logger log = LoggerFactory.getLogger(SharedServers.class);

  /** Where the shared PostgreSQL is: an admin JDBC URL plus its parts. */
  record Pg(String host, int port, String user, String password, String adminDatabase) {
    String jdbcUrl(String database) {
      return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    Connection connect(String database) throws SQLException {
      return DriverManager.getConnection(jdbcUrl(database), user, password);
    }
  }

  private static Pg pg;
  private static String natsUrl;

  private SharedServers() {}

  static synchronized Pg postgres() {
    if (pg == null) {
      pg = findPostgres();
      checkWalLevel(pg);
    }
    return pg;
  }

  static synchronized boolean natsResolved() {
    return natsUrl != null;
  }

  static synchronized String nats() {
    if (natsUrl == null) {
      natsUrl = findNats();
    }
    return natsUrl;
  }

  private static Pg findPostgres() {
    String url = System.getenv("OUTBOXKIT_PG_URL");
    if (url != null && !url.isBlank()) {
      Properties p = org.postgresql.Driver.parseURL(url, new Properties());
      if (p == null) {
        throw new IllegalStateException(
            "OUTBOXKIT_PG_URL="
                + url
                + " is not a JDBC URL: use"
                + " jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres&password=secret");
      }
      return new Pg(
          p.getProperty("PGHOST", "127.0.0.1"),
          Integer.parseInt(p.getProperty("PGPORT", "5432")),
          p.getProperty("user", "postgres"),
          p.getProperty("password", ""),
          p.getProperty("PGDBNAME", "postgres"));
    }
    if (dockerLikely()) {
      try {
        return ContainerServers.postgres();
      } catch (RuntimeException | LinkageError e) {
        log.info(
            "Testcontainers could not start PostgreSQL ({}); using local binaries", e.toString());
      }
    }
    PostgresProcess process = PostgresProcess.launch();
    Runtime.getRuntime().addShutdownHook(new Thread(process::close, "stop-test-postgres"));
    log.info("started PostgreSQL for the tests on port {}", process.port());
    return new Pg(process.host(), process.port(), "postgres", "", "postgres");
  }

  private static String findNats() {
    String url = System.getenv("OUTBOXKIT_NATS_URL");
    if (url != null && !url.isBlank()) {
      return url;
    }
    if (dockerLikely()) {
      try {
        return ContainerServers.nats();
      } catch (RuntimeException | LinkageError e) {
        log.info("Testcontainers could not start NATS ({}); using nats-server", e.toString());
      }
    }
    NatsProcess process = NatsProcess.launch(NatsProcess.options());
    Runtime.getRuntime().addShutdownHook(new Thread(process::close, "stop-test-nats"));
    log.info("started nats-server for the tests on port {}", process.port());
    return process.url();
  }

  /**
   * Cheap check before touching Testcontainers, whose own probe is slow when there is no engine.
   */
  private static boolean dockerLikely() {
    return System.getenv("DOCKER_HOST") != null || Files.exists(Path.of("/var/run/docker.sock"));
  }

  private static void checkWalLevel(Pg pg) {
    try (Connection c = pg.connect(pg.adminDatabase());
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SHOW wal_level")) {
      rs.next();
      String level = rs.getString(1);
      if (!"logical".equals(level)) {
        throw new IllegalStateException(
            "PostgreSQL at "
                + pg.host()
                + ":"
                + pg.port()
                + " has wal_level="
                + level
                + ": run ALTER SYSTEM SET wal_level = logical and restart it (bash .ci/run does"
                + " this), or unset OUTBOXKIT_PG_URL so the tests start their own server");
      }
    } catch (SQLException e) {
      throw new IllegalStateException(
          "cannot connect to PostgreSQL at " + pg.host() + ":" + pg.port() + ": " + e.getMessage(),
          e);
    }
  }
}
