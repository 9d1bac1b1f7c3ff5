package io.outboxkit.testing;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The one test fixture of outboxkit: a real PostgreSQL ({@code wal_level=logical}) and a real NATS
 * with JetStream, shared by the JVM, and for each test class its own database and its own stream
 * and subject names, dropped after the class. Tests that kill servers ask for private ones.
 *
 * <pre>{@code
 * class MyIT {
 *   @RegisterExtension static final TestInfra infra = new TestInfra();
 *
 *   @Test
 *   void writes() {
 *     infra.jdbi().useHandle(h -> h.execute("select 1"));
 *     String stream = infra.streamName();            // e.g. T7F3A1B
 *     String subjects = infra.prefix() + ".>";        // e.g. t7f3a1b.>
 *     NatsProcess broker = infra.privateNats();      // killable, closed after the class
 *   }
 * }
 * }</pre>
 *
 * <p>Servers come from {@code OUTBOXKIT_PG_URL} (a JDBC URL of an admin database, with {@code user}
 * and {@code password} parameters) and {@code OUTBOXKIT_NATS_URL}; else from Testcontainers when
 * Docker answers; else from local {@code nats-server} and {@code /usr/lib/postgresql/*} binaries
 * started on free ports.
 */
public final class TestInfra implements BeforeAllCallback, AfterAllCallback {
  private final String prefix =
      "t" + Long.toHexString(ThreadLocalRandom.current().nextLong(1L << 40, 1L << 44));
  private final List<AutoCloseable> closeAfterClass = new ArrayList<>();
  private SharedServers.Pg pg;
  private String database;
  private PGSimpleDataSource dataSource;
  private Jdbi jdbi;
  private Connection nats;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    pg = SharedServers.postgres();
    String cls = context.getRequiredTestClass().getSimpleName().toLowerCase(Locale.ROOT);
    database = (prefix + "_" + cls).replaceAll("[^a-z0-9_]", "_");
    if (database.length() > 60) {
      database = database.substring(0, 60);
    }
    try (java.sql.Connection c = pg.connect(pg.adminDatabase());
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + database);
    }
    dataSource = new PGSimpleDataSource();
    dataSource.setUrl(pg.jdbcUrl(database));
    dataSource.setUser(pg.user());
    dataSource.setPassword(pg.password());
    jdbi = Jdbi.create(dataSource);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    for (int i = closeAfterClass.size() - 1; i >= 0; i--) {
      try {
        closeAfterClass.get(i).close();
      } catch (Exception e) {
        // keep closing the rest
      }
    }
    if (nats != null) {
      deleteStreams(nats);
      nats.close();
    } else if (SharedServers.natsResolved()) {
      // The class may have used NATS through processes of its own (a relay): clean up its streams.
      try (Connection c = connect(natsUrl())) {
        deleteStreams(c);
      } catch (RuntimeException e) {
        // best effort
      }
    }
    dropDatabase();
  }

  private void deleteStreams(Connection connection) throws IOException {
    try {
      JetStreamManagement jsm = connection.jetStreamManagement();
      for (String name : jsm.getStreamNames()) {
        if (name.startsWith(streamName())) {
          jsm.deleteStream(name);
        }
      }
    } catch (io.nats.client.JetStreamApiException e) {
      // best effort
    }
  }

  private void dropDatabase() throws SQLException {
    try (java.sql.Connection c = pg.connect(pg.adminDatabase());
        Statement s = c.createStatement()) {
      // Slots keep a database alive: end their walsenders and drop them first.
      s.execute(
          "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
              + " WHERE database = '"
              + database
              + "' AND active_pid IS NOT NULL");
      Ports.await(
          "replication slots of " + database + " to be released",
          Duration.ofSeconds(30),
          () -> {
            try (Statement q = c.createStatement()) {
              q.execute(
                  "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                      + " WHERE database = '"
                      + database
                      + "' AND NOT active");
              try (var rs =
                  q.executeQuery(
                      "SELECT count(*) FROM pg_replication_slots WHERE database = '"
                          + database
                          + "'")) {
                rs.next();
                return rs.getInt(1) == 0;
              }
            } catch (SQLException e) {
              return false;
            }
          });
      s.execute("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
    }
  }

  /** The class's own database, on the shared server. */
  public String database() {
    return database;
  }

  public String jdbcUrl() {
    return pg.jdbcUrl(database);
  }

  public DataSource dataSource() {
    return dataSource;
  }

  public Jdbi jdbi() {
    return jdbi;
  }

  public String pgHost() {
    return pg.host();
  }

  public int pgPort() {
    return pg.port();
  }

  public String pgUser() {
    return pg.user();
  }

  /** The password; with trust auth any non-empty value works, so this is never empty. */
  public String pgPassword() {
    return pg.password().isEmpty() ? "unused" : pg.password();
  }

  public String natsUrl() {
    return SharedServers.nats();
  }

  /** A connection to the shared NATS, opened on first use and closed after the class. */
  public synchronized Connection nats() {
    if (nats == null) {
      nats = connect(natsUrl());
    }
    return nats;
  }

  /** A new connection to {@code url}; the caller closes it. */
  public static Connection connect(String url) {
    try {
      return Nats.connect(
          new Options.Builder()
              .server(url)
              .connectionTimeout(Duration.ofSeconds(5))
              .maxReconnects(-1)
              .build());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A lower-case token unique to this class, for subjects, slots and consumer names. */
  public String prefix() {
    return prefix;
  }

  /** A stream name unique to this class; streams whose name starts with it are deleted after. */
  public String streamName() {
    return prefix.toUpperCase(Locale.ROOT);
  }

  /** A private nats-server with JetStream, killable; closed after the class. */
  public NatsProcess privateNats(NatsProcess.Options options) {
    NatsProcess process = NatsProcess.launch(options);
    closeAfterClass.add(process);
    return process;
  }

  public NatsProcess privateNats() {
    return privateNats(NatsProcess.options());
  }

  /** A private JetStream cluster of {@code size} nodes on loopback; closed after the class. */
  public NatsCluster privateNatsCluster(int size) {
    NatsCluster cluster = NatsCluster.launch(size);
    closeAfterClass.add(cluster);
    return cluster;
  }

  /** A private PostgreSQL with wal_level=logical, killable and restartable; closed after. */
  public PostgresProcess privatePostgres() {
    return privatePostgres(java.util.Map.of());
  }

  /** A private PostgreSQL with extra settings; closed after the class. */
  public PostgresProcess privatePostgres(java.util.Map<String, String> settings) {
    PostgresProcess process = PostgresProcess.launch(settings);
    closeAfterClass.add(process);
    return process;
  }

  /**
   * A private PostgreSQL with extra settings, {@code pg_hba.conf} lines and files in its data
   * directory (certificates and keys); closed after the class.
   */
  public PostgresProcess privatePostgres(
      java.util.Map<String, String> settings,
      List<String> hba,
      java.util.Map<String, java.nio.file.Path> files) {
    PostgresProcess process = PostgresProcess.launch(settings, hba, files);
    closeAfterClass.add(process);
    return process;
  }

  /** Runs {@code close} after the class, before the database is dropped. */
  public <T extends AutoCloseable> T closeAfterClass(T resource) {
    closeAfterClass.add(resource);
    return resource;
  }
}
