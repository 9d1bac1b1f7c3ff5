package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.PostgresProcess;
import io.outboxkit.testing.TestInfra;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The relay runs as the least-privilege role the repository ships (infra/sql), in both variants,
 * and every privilege it lacks stops it at start (exit 2) with the privilege and the GRANT.
 */
class LeastPrivilegeIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static PostgresProcess pg;

  @BeforeAll
  static void server() {
    pg = infra.privatePostgres();
  }

  static Path sqlFile(String name) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path f = dir.resolve("infra/sql").resolve(name);
      if (Files.exists(f)) {
        return f;
      }
    }
    throw new IllegalStateException("infra/sql/" + name + " not found");
  }

  static void sql(String database, String sql) {
    sql(pg, database, sql);
  }

  static void sql(PostgresProcess pg, String database, String sql) {
    try (Connection c = DriverManager.getConnection(pg.jdbcUrl(database), "postgres", "");
        Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  /** A new database with the outbox table, owned by the superuser (as an application's would). */
  static void database(String name) {
    database(pg, name);
  }

  static void database(PostgresProcess pg, String name) {
    sql(pg, "postgres", "CREATE DATABASE " + name);
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(pg.jdbcUrl(name));
    ds.setUser("postgres");
    OutboxSchema.migrateOutbox(ds, TableName.DEFAULT_OUTBOX);
  }

  /** Runs a shipped role file with the role renamed (roles are per server, tests per database). */
  static void runRoleFile(String database, String file, String role) throws Exception {
    runRoleFile(pg, database, file, role);
  }

  static void runRoleFile(PostgresProcess pg, String database, String file, String role)
      throws Exception {
    sql(pg, database, Files.readString(sqlFile(file)).replace("outboxkit_relay", role));
  }

  static Map<String, String> env(String database, String role) {
    return env(pg, database, role);
  }

  static Map<String, String> env(PostgresProcess pg, String database, String role) {
    String prefix = infra.prefix() + database;
    Map<String, String> env =
        RelayProcess.env(
            pg.host(),
            pg.port(),
            database,
            role,
            "change-me",
            infra.natsUrl(),
            infra.streamName() + "_" + database.toUpperCase(),
            prefix);
    env.put("OUTBOXKIT_RELAY_SLOT_NAME", database + "_slot");
    return env;
  }

  static void streamsEvents(Map<String, String> env) {
    streamsEvents(pg, env, () -> {});
  }

  /** Starts the relay, waits until it streams, runs {@code whileStreaming}, checks 3 events. */
  static void streamsEvents(PostgresProcess pg, Map<String, String> env, Runnable whileStreaming) {
    String database = env.get("OUTBOXKIT_RELAY_DATABASE_NAME");
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      whileStreaming.run();
      for (int i = 0; i < 3; i++) {
        sql(
            pg,
            database,
            "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload)"
                + " VALUES (gen_random_uuid(), 'Zähler', 'm-"
                + i
                + "', 'Gelesen', convert_to('{\"kWh\": 1}', 'UTF8'))");
      }
      StreamContents.awaitCount(
          infra.nats(), env.get("OUTBOXKIT_RELAY_STREAM_NAME"), 3, Duration.ofSeconds(60));
      assertThat(relay.log()).doesNotContain("ERROR");
    }
  }

  static String refused(Map<String, String> env) {
    try (RelayProcess relay = new RelayProcess(env).start()) {
      int exit = relay.waitExit(Duration.ofSeconds(90));
      assertThat(exit).as("exit status; log:\n" + relay.logTail()).isEqualTo(2);
      return relay.log();
    }
  }

  @Test
  void theShippedRoleStreamsAndCreatesWhatItNeeds() throws Exception {
    database("va");
    runRoleFile("va", "relay-role.sql", "relay_va");
    streamsEvents(env("va", "relay_va"));
  }

  @Test
  void thePrecreatedVariantStreamsWithoutCreateOnTheDatabase() throws Exception {
    database("vb");
    runRoleFile("vb", "relay-role-precreated.sql", "relay_vb");
    Map<String, String> env = env("vb", "relay_vb");
    env.put("OUTBOXKIT_RELAY_PUBLICATION_NAME", "outboxkit");
    env.put("OUTBOXKIT_RELAY_CREATE_PUBLICATION", "false");
    streamsEvents(env);
  }

  @Test
  void everyMissingPrivilegeIsNamedWithItsGrant() {
    database("vr");
    sql("vr", "CREATE ROLE relay_vr WITH LOGIN REPLICATION PASSWORD 'change-me'");
    Map<String, String> env = env("vr", "relay_vr");

    sql("vr", "REVOKE CONNECT ON DATABASE vr FROM PUBLIC");
    assertThat(refused(env)).contains("GRANT CONNECT ON DATABASE vr TO relay_vr;");
    sql("vr", "GRANT CONNECT ON DATABASE vr TO PUBLIC");

    assertThat(refused(env))
        .contains("lacks CREATE on database vr")
        .contains("GRANT CREATE ON DATABASE vr TO relay_vr;");

    sql("vr", "GRANT CREATE ON DATABASE vr TO relay_vr");
    assertThat(refused(env))
        .contains("does not own outbox table public.outbox")
        .contains("ALTER TABLE public.outbox OWNER TO relay_vr;")
        .contains("create-publication=false");

    sql("vr", "REVOKE CREATE ON DATABASE vr FROM relay_vr");
    sql("vr", "CREATE PUBLICATION relay_pub FOR TABLE public.outbox WITH (publish = 'insert')");
    env.put("OUTBOXKIT_RELAY_PUBLICATION_NAME", "relay_pub");
    env.put("OUTBOXKIT_RELAY_CREATE_PUBLICATION", "false");
    assertThat(refused(env))
        .contains("lacks CREATE on database vr")
        .contains("CREATE SCHEMA outboxkit AUTHORIZATION relay_vr;");

    sql("vr", "CREATE SCHEMA outboxkit");
    assertThat(refused(env))
        .contains("lacks USAGE on schema outboxkit")
        .contains("GRANT USAGE, CREATE ON SCHEMA outboxkit TO relay_vr;");

    sql("vr", "GRANT USAGE ON SCHEMA outboxkit TO relay_vr");
    assertThat(refused(env)).contains("lacks CREATE on schema outboxkit");

    sql("vr", "ALTER SCHEMA outboxkit OWNER TO relay_vr");
    sql("vr", "CREATE TABLE outboxkit.relay_offsets_slots (slot_name text PRIMARY KEY)");
    assertThat(refused(env))
        .contains("lacks SELECT on the relay's state table outboxkit.relay_offsets_slots")
        .contains(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON outboxkit.relay_offsets_slots TO relay_vr;");
    sql("vr", "DROP TABLE outboxkit.relay_offsets_slots");

    sql(
        "vr",
        "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, text)"
            + " FROM PUBLIC");
    assertThat(refused(env))
        .contains("lacks EXECUTE on pg_catalog.pg_logical_emit_message(boolean, text, text)")
        .contains(
            "GRANT EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, text) TO"
                + " relay_vr;");
    sql(
        "vr",
        "GRANT EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean, text, text) TO"
            + " relay_vr");

    sql("vr", "ALTER ROLE relay_vr NOREPLICATION");
    assertThat(refused(env)).contains("ALTER ROLE relay_vr WITH REPLICATION;");
    sql("vr", "ALTER ROLE relay_vr REPLICATION");

    // With every GRANT the refusals named, the same role streams.
    streamsEvents(env);
  }
}
