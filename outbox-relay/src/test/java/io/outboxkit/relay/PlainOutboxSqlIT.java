package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nats.client.Connection;
import io.outboxkit.HeaderValues;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxEvent;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.Command;
import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * outbox-core's plain SQL file (io/outboxkit/sql/outbox.sql, for Liquibase and hand-run setups),
 * applied with psql to a fresh database, creates what the Flyway migration creates (columns, types,
 * defaults, checks, index, function, comment: compared in the catalogs), and the result works: the
 * checks refuse bad rows, the Java writer writes, the relay's start-up checks accept the table and
 * it publishes the rows. Applied as one JDBC statement (what Liquibase does with
 * splitStatements="false"), the file creates the same.
 */
class PlainOutboxSqlIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static final Path PLAIN_SQL =
      Path.of("..", "outbox-core", "src", "main", "resources", "io", "outboxkit", "sql");
  private static final List<String> extraDatabases = new ArrayList<>();

  @AfterAll
  static void dropExtraDatabases() {
    for (String db : extraDatabases) {
      infra.jdbi().useHandle(h -> h.execute("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"));
    }
  }

  @Test
  void psqlCreatesWhatTheMigrationCreatesAndTheWriterAndRelayAcceptIt() throws Exception {
    Command.Result psql =
        Command.onPath("psql", "apt-get install postgresql-client")
            .withEnv(Map.of("PGPASSWORD", infra.pgPassword()))
            .run(
                PLAIN_SQL,
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                infra.pgHost(),
                "-p",
                Integer.toString(infra.pgPort()),
                "-U",
                infra.pgUser(),
                "-d",
                infra.database(),
                "-f",
                "outbox.sql");
    assertThat(psql.exitCode()).as(psql.output()).isZero();

    PGSimpleDataSource flyway = freshDatabase("fw");
    OutboxSchema.migrateOutbox(flyway, TableName.DEFAULT_OUTBOX);
    Jdbi migrated = Jdbi.create(flyway);
    Jdbi oneStatement = Jdbi.create(freshDatabase("js"));
    String sql = Files.readString(PLAIN_SQL.resolve("outbox.sql"), StandardCharsets.UTF_8);
    oneStatement.useHandle(h -> h.getConnection().createStatement().execute(sql));

    Map<String, List<String>> byPsql = catalog(infra.jdbi());
    assertThat(byPsql.get("columns")).hasSize(7);
    assertThat(byPsql.get("constraints")).hasSize(5); // primary key and four checks
    assertThat(byPsql.get("functions")).hasSize(2); // outboxkit_uuid_v7, outboxkit_emit
    assertThat(byPsql.get("index")).hasSize(2);
    assertThat(byPsql).isEqualTo(catalog(migrated));
    assertThat(catalog(oneStatement)).isEqualTo(byPsql);

    checksRefuseBadRows();
    UUID written = javaWriterWrites("zähler ⚡", "m-42\r\n");
    relayAcceptsTheTableAndPublishes(written);
  }

  /** Everything of public.outbox and its function that could differ, as comparable text. */
  private static Map<String, List<String>> catalog(Jdbi jdbi) {
    Map<String, String> queries = new LinkedHashMap<>();
    queries.put(
        "columns",
        "SELECT ordinal_position || ' ' || column_name || ' ' || data_type || ' ' || is_nullable"
            + " || ' ' || coalesce(column_default, '-') FROM information_schema.columns"
            + " WHERE table_schema = 'public' AND table_name = 'outbox' ORDER BY ordinal_position");
    queries.put(
        "constraints",
        "SELECT conname || ' ' || contype::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint"
            + " WHERE conrelid = 'public.outbox'::regclass ORDER BY conname");
    queries.put(
        "index",
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'outbox'"
            + " ORDER BY indexname");
    queries.put(
        "functions",
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid ="
            + " p.pronamespace WHERE n.nspname = 'public' ORDER BY p.proname");
    queries.put("comment", "SELECT obj_description('public.outbox'::regclass, 'pg_class')");
    return jdbi.withHandle(
        h ->
            queries.entrySet().stream()
                .collect(
                    Collectors.toMap(
                        Map.Entry::getKey,
                        q -> h.createQuery(q.getValue()).mapTo(String.class).list(),
                        (a, b) -> a,
                        LinkedHashMap::new)));
  }

  private static void checksRefuseBadRows() {
    String insert =
        "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, headers)"
            + " VALUES (?, ?, ?, '\\x7b7d'::bytea, ?::jsonb)";
    String longest = "ü".repeat(255);
    infra.jdbi().useHandle(h -> h.execute(insert, "meter", longest, "Read", null));
    for (Object[] bad :
        List.of(
            new Object[] {"", "m-1", "Read", null},
            new Object[] {"meter", longest + "ü", "Read", null},
            new Object[] {"meter", "m-1", "e".repeat(256), null},
            new Object[] {"meter", "m-1", "Read", "[\"not\", \"an object\"]"})) {
      assertThatThrownBy(() -> infra.jdbi().useHandle(h -> h.execute(insert, bad)))
          .as(java.util.Arrays.toString(bad))
          .hasMessageContaining("violates check constraint");
    }
    String version =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT substr(id::text, 15, 1) FROM public.outbox")
                        .mapTo(String.class)
                        .one());
    assertThat(version).as("the default id is a UUIDv7").isEqualTo("7");
    infra.jdbi().useHandle(h -> h.execute("DELETE FROM public.outbox"));
  }

  private static UUID javaWriterWrites(String aggregateType, String aggregateId) {
    Outbox outbox = Outbox.builder().build();
    UUID id =
        infra
            .jdbi()
            .inTransaction(
                h ->
                    outbox.write(
                        h,
                        OutboxEvent.of(
                                aggregateType,
                                aggregateId,
                                "ReadingRecorded",
                                Map.of("kwh", 1.25, "note", "Grüße 🌩\r\n"))
                            .withHeader(
                                "traceparent",
                                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
    String stored =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery("SELECT aggregate_id FROM public.outbox WHERE id = ?")
                        .bind(0, id)
                        .mapTo(String.class)
                        .one());
    assertThat(stored).isEqualTo(aggregateId);
    return id;
  }

  private static void relayAcceptsTheTableAndPublishes(UUID written) throws Exception {
    String stream = infra.streamName();
    try (RelayProcess relay =
            new RelayProcess(RelayProcess.env(infra, infra.natsUrl(), stream)).start();
        Connection nc = TestInfra.connect(infra.natsUrl())) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      // Rows before the relay's first start are not relayed: write again, by the Java writer and
      // by plain SQL (id from the table's default).
      UUID afterStart = javaWriterWrites("zähler ⚡", "m-42\r\n");
      UUID bySql =
          infra
              .jdbi()
              .withHandle(
                  h ->
                      h.createQuery(
                              "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type,"
                                  + " payload) VALUES ('meter', 'm-7', 'Registered',"
                                  + " convert_to('{\"a\":\"ß\"}', 'UTF8')) RETURNING id")
                          .mapTo(UUID.class)
                          .one());
      try {
        StreamContents.awaitCount(nc, stream, 2, Duration.ofSeconds(60));
      } catch (IllegalStateException e) {
        throw new AssertionError(e.getMessage() + "\n" + relay.metrics() + relay.logTail(), e);
      }
      List<StreamContents.Stored> stored = StreamContents.readAll(nc, stream);
      assertThat(stored)
          .extracting(StreamContents.Stored::msgId)
          .containsExactly(afterStart.toString(), bySql.toString())
          .doesNotContain(written.toString());
      assertThat(stored.get(0).header(OutboxHeaders.EVENT_TYPE)).isEqualTo("ReadingRecorded");
      assertThat(HeaderValues.decode(stored.get(0).header(OutboxHeaders.AGGREGATE_TYPE)))
          .isEqualTo("zähler ⚡");
      assertThat(HeaderValues.decode(stored.get(0).header(OutboxHeaders.AGGREGATE_ID)))
          .isEqualTo("m-42\r\n");
      assertThat(
              new com.fasterxml.jackson.databind.ObjectMapper()
                  .readTree(stored.get(0).data())
                  .path("note")
                  .asText())
          .isEqualTo("Grüße 🌩\r\n");
      assertThat(new String(stored.get(1).data(), StandardCharsets.UTF_8))
          .isEqualTo("{\"a\":\"ß\"}");
    }
  }

  private static PGSimpleDataSource freshDatabase(String suffix) {
    String name = infra.prefix() + "_" + suffix;
    infra.jdbi().useHandle(h -> h.execute("CREATE DATABASE " + name));
    extraDatabases.add(name);
    return dataSourceOf(name);
  }

  private static PGSimpleDataSource dataSourceOf(String database) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(infra.jdbcUrl().replace("/" + infra.database(), "/" + database));
    ds.setUser(infra.pgUser());
    ds.setPassword(infra.pgPassword());
    return ds;
  }
}
