package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.testing.JarProcess;
import io.outboxkit.testing.TestInfra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The grid as the demo and the compose file run it: the databases and the services' roles made by
 * infra/postgres/init-databases.sql (names prefixed for this test: roles belong to the whole
 * server), the relay's by infra/sql/relay-role-precreated.sql. The meter service migrates and
 * writes as {@code meter_app}, the relay streams as {@code outboxkit_relay}, the billing service
 * migrates, consumes, reconciles and rebuilds as {@code billing_app}; none is a superuser, and
 * neither service can connect to or read the other's database.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServiceRolesIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static final String PASSWORD = "change-me";

  static String meterDb;
  static String billingDb;
  static String meterRole;
  static String billingRole;
  static String relayRole;
  static Grid grid;

  static Path infraFile(String name) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path f = dir.resolve("infra").resolve(name);
      if (Files.exists(f)) {
        return f;
      }
    }
    throw new IllegalStateException("infra/" + name + " not found");
  }

  @BeforeAll
  static void start() throws Exception {
    String p = infra.prefix();
    meterDb = p + "_meter";
    billingDb = p + "_billing";
    meterRole = p + "_meter_app";
    billingRole = p + "_billing_app";
    relayRole = p + "_relay";
    // The shipped file, with this test's names for its databases and roles.
    String init = Files.readString(infraFile("postgres/init-databases.sql"));
    Matcher names = Pattern.compile("\\b(meter_app|billing_app|meter|billing)\\b").matcher(init);
    runScript(names.replaceAll(p + "_$1"));

    Map<String, Object> billingProps =
        Map.of(
            "datasources.default.username", billingRole,
            "datasources.default.password", PASSWORD);
    grid =
        new Grid(
            infra,
            new Grid.Setup(
                Map.of(
                    "METER_DB_URL", jdbcUrl(meterDb),
                    "METER_DB_USER", meterRole,
                    "METER_DB_PASSWORD", PASSWORD),
                // The relay's role names the outbox table: made once the meter service created it.
                () ->
                    admin(
                        meterDb,
                        read("sql/relay-role-precreated.sql")
                            .replace("outboxkit_relay", relayRole)),
                Map.of(
                    "OUTBOXKIT_RELAY_DATABASE_NAME", meterDb,
                    "OUTBOXKIT_RELAY_DATABASE_USER", relayRole,
                    "OUTBOXKIT_RELAY_DATABASE_PASSWORD", PASSWORD,
                    "OUTBOXKIT_RELAY_CREATE_PUBLICATION", "false",
                    "OUTBOXKIT_RELAY_PUBLICATION_NAME", "outboxkit"),
                billingProps,
                billingDb));
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (grid != null) {
        grid.close();
      }
    } finally {
      try (Connection c = connect("postgres", infra.pgUser(), infra.pgPassword());
          Statement s = c.createStatement()) {
        // The relay's slot keeps its database alive: end its walsender, then drop it.
        String slots = " FROM pg_replication_slots WHERE database = '" + meterDb + "'";
        s.execute(
            "SELECT pg_terminate_backend(active_pid)" + slots + " AND active_pid IS NOT NULL");
        await()
            .atMost(Duration.ofSeconds(30))
            .ignoreExceptions()
            .until(
                () -> {
                  s.execute(
                      "SELECT pg_drop_replication_slot(slot_name)" + slots + " AND NOT active");
                  try (ResultSet rs = s.executeQuery("SELECT count(*)" + slots)) {
                    rs.next();
                    return rs.getInt(1) == 0;
                  }
                });
        for (String db : List.of(meterDb, billingDb)) {
          s.execute("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
        }
        for (String role : List.of(relayRole, meterRole, billingRole)) {
          s.execute("DROP ROLE IF EXISTS " + role);
        }
      }
    }
  }

  @Test
  @Order(1)
  void noRoleIsASuperuserAndEachOwnsItsOwnTables() throws Exception {
    try (Connection c = connect("postgres", infra.pgUser(), infra.pgPassword());
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT rolname, rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls,"
                    + " rolreplication FROM pg_roles WHERE rolname IN ('"
                    + String.join("','", meterRole, billingRole, relayRole)
                    + "') ORDER BY rolname")) {
      int n = 0;
      while (rs.next()) {
        n++;
        assertThat(rs.getBoolean(2)).as(rs.getString(1) + " has an admin attribute").isFalse();
        // Only the relay replicates.
        assertThat(rs.getBoolean(3))
            .as(rs.getString(1))
            .isEqualTo(rs.getString(1).equals(relayRole));
      }
      assertThat(n).isEqualTo(3);
    }
    // The services' migrations ran as their roles: they own every table of their schema public.
    assertThat(tableOwners(meterDb)).containsOnlyKeys(meterRole);
    assertThat(tableOwners(meterDb).get(meterRole))
        .contains("outbox", "flyway_schema_history", "reading");
    assertThat(tableOwners(billingDb)).containsOnlyKeys(billingRole);
    assertThat(tableOwners(billingDb).get(billingRole)).contains("outbox_inbox");
  }

  @Test
  @Order(2)
  void theGridConvergesAndRebuildsUnderTheRoles() throws Exception {
    JarProcess simulator =
        grid.simulator(
            "--meters",
            "6",
            "--feeders",
            "2",
            "--rate",
            "100",
            "--duration",
            "3s",
            "--batch",
            "6",
            "--prefix",
            "roles");
    try {
      assertThat(simulator.awaitExit(Grid.WAIT)).as(simulator.logTail()).isZero();
    } finally {
      simulator.close();
    }
    grid.awaitReadModelsEqualTheMeterTotals();
    assertThat(grid.meterTotals().path("readings").asLong()).isPositive();
    assertThat(grid.relay.log()).doesNotContain("ERROR");

    // Background sync (its own tables) and a CQRS rebuild (shadow schema, swap) as billing_app.
    grid.postBilling("/reconcile");
    HttpResponse<String> started =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(grid.billingUrl() + "/rebuild/bills"))
                    .timeout(Grid.WAIT)
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
    JsonNode[] done = new JsonNode[1];
    await()
        .atMost(Grid.WAIT)
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              done[0] = grid.getBilling("/rebuild/bills");
              return done[0].path("finishedAt").isTextual();
            });
    assertThat(done[0].path("phase").asText()).as(done[0].toString()).isEqualTo("DONE");
    grid.awaitReadModelsEqualTheMeterTotals();
    assertThat(tableOwners(billingDb)).containsOnlyKeys(billingRole);
  }

  @Test
  @Order(3)
  void neitherServiceReachesTheOthersDatabase() throws Exception {
    assertThatThrownBy(() -> connect(billingDb, meterRole, PASSWORD).close())
        .hasMessageContaining("permission denied for database");
    assertThatThrownBy(() -> connect(meterDb, billingRole, PASSWORD).close())
        .hasMessageContaining("permission denied for database");
    // Given CONNECT by mistake, it still reads nothing there and creates nothing.
    admin(meterDb, "GRANT CONNECT ON DATABASE " + meterDb + " TO " + billingRole);
    try (Connection c = connect(meterDb, billingRole, PASSWORD);
        Statement s = c.createStatement()) {
      for (String sql :
          List.of(
              "SELECT count(*) FROM public.reading",
              "SELECT count(*) FROM public.outbox",
              "CREATE TABLE public.intruder (x int)")) {
        assertThatThrownBy(() -> s.execute(sql))
            .as(sql)
            .isInstanceOf(SQLException.class)
            .hasMessageContaining("permission denied");
      }
    } finally {
      admin(meterDb, "REVOKE CONNECT ON DATABASE " + meterDb + " FROM " + billingRole);
    }
    // The relay reads no table either: it gets the rows through its publication only.
    try (Connection c = connect(meterDb, relayRole, PASSWORD);
        Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.execute("SELECT count(*) FROM public.reading"))
          .hasMessageContaining("permission denied");
    }
  }

  // --- helpers ----------------------------------------------------------------------------------

  /** Tables of schema public by owner. */
  private static Map<String, List<String>> tableOwners(String db) throws SQLException {
    Map<String, List<String>> owners = new java.util.TreeMap<>();
    try (Connection c = connect(db, infra.pgUser(), infra.pgPassword());
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT tableowner, tablename FROM pg_tables WHERE schemaname = 'public'")) {
      while (rs.next()) {
        owners.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(rs.getString(2));
      }
    }
    return owners;
  }

  /**
   * Runs a psql script the way psql does for this file: each statement ends with {@code ;} at the
   * end of a line, {@code \connect db} switches the database, comments are skipped. (The file has
   * no {@code $$} bodies; the check below keeps it that way.)
   */
  private static void runScript(String script) {
    assertThat(script).doesNotContain("$$");
    String db = "postgres";
    StringBuilder statement = new StringBuilder();
    for (String line : script.split("\n")) {
      String t = line.strip();
      if (t.isEmpty() || t.startsWith("--")) {
        continue;
      }
      if (t.startsWith("\\connect ")) {
        db = t.substring("\\connect ".length()).strip();
        continue;
      }
      statement.append(line).append('\n');
      if (t.endsWith(";")) {
        admin(db, statement.toString());
        statement.setLength(0);
      }
    }
    assertThat(statement.toString()).as("an unterminated statement").isBlank();
  }

  private static String read(String name) {
    try {
      return Files.readString(infraFile(name));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String jdbcUrl(String db) {
    return "jdbc:postgresql://" + infra.pgHost() + ":" + infra.pgPort() + "/" + db;
  }

  private static Connection connect(String db, String user, String password) throws SQLException {
    return DriverManager.getConnection(jdbcUrl(db), user, password);
  }

  private static void admin(String db, String sql) {
    try (Connection c = connect(db, infra.pgUser(), infra.pgPassword());
        Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }
}
