package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RelaySettingsTest {

  static RelayConfig.Database db(String name, String password, String passwordFile) {
    return new RelayConfig.Database(
        "localhost",
        5432,
        name,
        "postgres",
        password,
        passwordFile,
        "prefer",
        null,
        Duration.ofSeconds(10),
        Duration.ofSeconds(60));
  }

  static RelayConfig config(RelayConfig.Database db, String template, int inFlight) {
    return config(
        db,
        template,
        inFlight,
        new RelayConfig.Columns("outboxkit", null, null, null, null, null, null, null));
  }

  static RelayConfig config(
      RelayConfig.Database db, String template, int inFlight, RelayConfig.Columns columns) {
    return new RelayConfig(
        db,
        new RelayConfig.Nats(
            List.of("nats://127.0.0.1:4222"),
            null,
            null,
            null,
            null,
            false,
            null,
            null,
            null,
            null,
            null,
            Duration.ofSeconds(5)),
        new RelayConfig.Stream(
            "OUTBOX", List.of("outbox.>", "outbox-dlq.>"), "file", 1, Duration.ofMinutes(2), true),
        new RelayConfig.Publish(
            inFlight, Duration.ofSeconds(5), Duration.ofMillis(100), Duration.ofSeconds(5)),
        new RelayConfig.Engine(
            4096,
            16384,
            Duration.ofMillis(5),
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            Duration.ofSeconds(30)),
        new RelayConfig.Standby(Duration.ofSeconds(1)),
        columns,
        List.of("public.outbox"),
        "outboxkit",
        "outboxkit",
        true,
        template,
        "outbox-dlq.relay",
        "outboxkit-events",
        "outboxkit.relay_offsets",
        Duration.ofSeconds(30),
        Duration.ofSeconds(10),
        true);
  }

  @Test
  void defaultsResolve() {
    RelaySettings s =
        RelaySettings.from(
            config(db("app", "secret", null), "outbox.{aggregate_type}.{event_type}", 4000));
    assertThat(s.dbName()).isEqualTo("app");
    assertThat(s.tables()).hasSize(1);
    assertThat(s.subjects().wildcard()).isEqualTo("outbox.*.*");
    assertThat(s.toString()).doesNotContain("secret");
    assertThat(config(db("app", "secret", null), "outbox.{aggregate_type}.{event_type}", 4000))
        .asString()
        .doesNotContain("secret");
    assertThat(s.database().toString()).doesNotContain("secret");
    assertThat(RelaySettings.JDBC_URL).doesNotContain("secret").doesNotContain("app");
  }

  @Test
  void aDatabaseNameWithQueryCharactersCannotChangeOtherParameters() throws Exception {
    String name = "app?sslmode=disable&user=evil&socketTimeout=0";
    RelaySettings s = RelaySettings.from(config(db(name, "pw", null), "outbox.{event_type}", 10));
    java.util.Properties parsed =
        org.postgresql.Driver.parseURL(RelaySettings.JDBC_URL, s.jdbcProperties());
    assertThat(parsed.getProperty("PGDBNAME")).isEqualTo(name);
    assertThat(parsed.getProperty("sslmode")).isEqualTo("prefer");
    assertThat(parsed.getProperty("user")).isEqualTo("postgres");
    assertThat(parsed.getProperty("connectTimeout")).isEqualTo("10");
    assertThat(parsed.getProperty("socketTimeout")).isEqualTo("60");
    assertThat(parsed.getProperty("tcpKeepAlive")).isEqualTo("true");
  }

  @Test
  void secretsNeverInToStringAndUrlsRedacted() {
    RelayConfig c = config(db("app", "db-secret-1", null), "outbox.{event_type}", 10);
    RelayConfig.Nats nats =
        new RelayConfig.Nats(
            List.of("nats://relay:nats-secret-2@nats1:4222", "tls://tok-secret-3@nats2:4222"),
            "relay",
            "nats-secret-4",
            null,
            null,
            true,
            "/ts.p12",
            "ts-secret-5",
            "/ks.p12",
            "ks-secret-6",
            null,
            Duration.ofSeconds(5));
    String text = c.toString() + nats + c.database() + RelaySettings.from(c);
    assertThat(text).doesNotContain("secret").contains("nats://***@nats1:4222");
    assertThat(Redact.url("cannot connect to [nats://a:b@h:1, nats://h2:2]"))
        .isEqualTo("cannot connect to [nats://***@h:1, nats://h2:2]");
  }

  @Test
  void missingDatabaseNameIsNamedWithItsEnvironmentVariable() {
    assertThatThrownBy(
            () ->
                RelaySettings.from(
                    config(db(null, null, null), "outbox.{aggregate_type}.{event_type}", 4000)))
        .isInstanceOf(RelayException.class)
        .hasMessageContaining("outboxkit.relay.database.name")
        .hasMessageContaining("OUTBOXKIT_RELAY_DATABASE_NAME");
  }

  @Test
  void badTemplateAndWindowAreNamed() {
    assertThatThrownBy(() -> RelaySettings.from(config(db("app", null, null), "outbox.{x}", 4000)))
        .hasMessageContaining("outboxkit.relay.subject-template");
    assertThatThrownBy(
            () -> RelaySettings.from(config(db("app", null, null), "outbox.{aggregate_type}", 0)))
        .hasMessageContaining("outboxkit.relay.publish.max-in-flight")
        .hasMessageContaining("OUTBOXKIT_RELAY_PUBLISH_MAX_IN_FLIGHT");
  }

  @Test
  void passwordFileIsReadAndNotCombinedWithAPassword(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("pw");
    Files.writeString(file, "from-file\n");
    assertThat(
            RelaySettings.from(config(db("app", null, file.toString()), "outbox.{event_type}", 10))
                .dbPassword())
        .isEqualTo("from-file");
    assertThatThrownBy(
            () ->
                RelaySettings.from(
                    config(db("app", "x", file.toString()), "outbox.{event_type}", 10)))
        .hasMessageContaining("set only one of them");
  }

  private static RelaySettings columns(
      String preset, String aggregateType, String payload, String headers) {
    return RelaySettings.from(
        config(
            db("app", "", null),
            "outbox.{aggregate_type}.{event_type}",
            4000,
            new RelayConfig.Columns(
                preset, null, aggregateType, null, null, payload, headers, null)));
  }

  @Test
  void columnsDefaultToOutboxkitsTable() {
    assertThat(columns("outboxkit", null, null, null).columns()).isEqualTo(ColumnMap.OUTBOXKIT);
    assertThat(ColumnMap.OUTBOXKIT.published())
        .containsExactly(
            "id", "aggregate_type", "aggregate_id", "event_type", "payload", "headers");
  }

  @Test
  void debeziumPresetMapsDebeziumsColumnsWithoutHeaders() {
    ColumnMap m = columns("debezium", null, null, null).columns();
    assertThat(m.published())
        .containsExactly("id", "aggregatetype", "aggregateid", "type", "payload");
    assertThat(m.headers()).isNull();
    assertThat(m.createdAt()).isNull();
    // one column named on its own overrides the preset; headers may be added
    ColumnMap n = columns("debezium", "kind", "body", "meta").columns();
    assertThat(n.published()).containsExactly("id", "kind", "aggregateid", "type", "body", "meta");
    assertThat(columns("outboxkit", null, null, "none").columns().headers()).isNull();
    assertThat(columns("outboxkit", null, null, "").columns().headers()).isNull();
  }

  @Test
  void badColumnSettingsAreNamedWithTheFix() {
    assertThatThrownBy(() -> columns("kafka", null, null, null))
        .hasMessageContaining("outboxkit.relay.columns.preset")
        .hasMessageContaining("OUTBOXKIT_RELAY_COLUMNS_PRESET")
        .hasMessageContaining("debezium");
    assertThatThrownBy(() -> columns("outboxkit", "Aggregate Type", null, null))
        .hasMessageContaining("outboxkit.relay.columns.aggregate-type")
        .hasMessageContaining("identifier");
    assertThatThrownBy(() -> columns("debezium", null, "type", null))
        .hasMessageContaining("outboxkit.relay.columns.payload")
        .hasMessageContaining("outboxkit.relay.columns.event-type");
  }
}
