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

  static final RelayConfig.Tracing TRACING_DEFAULTS =
      new RelayConfig.Tracing(
          false, "http://localhost:4318/v1/traces", "outbox-relay", 1.0, Duration.ofSeconds(10));

  static final RelayConfig.Columns COLUMN_DEFAULTS =
      new RelayConfig.Columns("outboxkit", null, null, null, null, null, null, null);

  static RelayConfig config(RelayConfig.Database db, String template, int inFlight) {
    return config(db, template, inFlight, TRACING_DEFAULTS, COLUMN_DEFAULTS);
  }

  static RelayConfig config(
      RelayConfig.Database db, String template, int inFlight, RelayConfig.Tracing tracing) {
    return config(db, template, inFlight, tracing, COLUMN_DEFAULTS);
  }

  static RelayConfig config(
      RelayConfig.Database db, String template, int inFlight, RelayConfig.Columns columns) {
    return config(db, template, inFlight, TRACING_DEFAULTS, columns);
  }

  static RelayConfig config(
      RelayConfig.Database db,
      String template,
      int inFlight,
      RelayConfig.Tracing tracing,
      RelayConfig.Columns columns) {
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
            16L << 20,
            Duration.ofMillis(5),
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            Duration.ofSeconds(30)),
        new RelayConfig.Standby(Duration.ofSeconds(1), Duration.ofSeconds(10)),
        tracing,
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
        true,
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

  static RelaySettings withTracing(
      boolean enabled, String endpoint, String service, double ratio, Duration timeout) {
    return RelaySettings.from(
        config(
            db("app", null, null),
            "outbox.{event_type}",
            10,
            new RelayConfig.Tracing(enabled, endpoint, service, ratio, timeout)));
  }

  @Test
  void tracingIsOffByDefaultAndItsSettingsAreChecked() {
    RelaySettings s = RelaySettings.from(config(db("app", null, null), "outbox.{event_type}", 10));
    assertThat(s.tracing().enabled()).isFalse();
    Duration t = Duration.ofSeconds(10);
    assertThat(withTracing(true, " https://collector.example:4318/v1/traces ", "relay", 0.25, t))
        .satisfies(
            r -> {
              assertThat(r.tracing().endpoint())
                  .isEqualTo("https://collector.example:4318/v1/traces");
              assertThat(r.tracing().sampleRatio()).isEqualTo(0.25);
            });
    for (String bad :
        List.of(
            "",
            "localhost:4318",
            "grpc://collector:4317",
            "http://",
            "http://user:secret-7@collector:4318/v1/traces",
            "http://collector:43 18")) {
      assertThatThrownBy(() -> withTracing(true, bad, "relay", 1.0, t))
          .as(bad)
          .isInstanceOf(RelayException.class)
          .hasMessageContaining("outboxkit.relay.tracing.endpoint")
          .hasMessageContaining("OUTBOXKIT_RELAY_TRACING_ENDPOINT")
          .hasMessageNotContaining("secret-7");
    }
    // Checked when off too: a typo shows before the day tracing is turned on.
    assertThatThrownBy(() -> withTracing(false, "collector:4318", "relay", 1.0, t))
        .hasMessageContaining("outboxkit.relay.tracing.endpoint");
    assertThatThrownBy(() -> withTracing(true, "http://c:4318/v1/traces", "relay", 1.5, t))
        .hasMessageContaining("outboxkit.relay.tracing.sample-ratio");
    assertThatThrownBy(() -> withTracing(true, "http://c:4318/v1/traces", "relay", Double.NaN, t))
        .hasMessageContaining("outboxkit.relay.tracing.sample-ratio");
    assertThatThrownBy(() -> withTracing(true, "http://c:4318/v1/traces", " ", 1.0, t))
        .hasMessageContaining("outboxkit.relay.tracing.service-name");
    assertThatThrownBy(
            () -> withTracing(true, "http://c:4318/v1/traces", "relay", 1.0, Duration.ZERO))
        .hasMessageContaining("outboxkit.relay.tracing.export-timeout");
  }

  @Test
  void debeziumsQueueIsBoundedInBytesToo() {
    RelayConfig c = config(db("app", null, null), "outbox.{event_type}", 10);
    RelaySettings s = RelaySettings.from(c);
    assertThat(DebeziumProperties.of(s, java.util.Map.of()).getProperty("max.queue.size.in.bytes"))
        .isEqualTo(Long.toString(16L << 20));
    assertThat(RelaySettings.from(withQueueBytes(c, 0)).engine().maxQueueBytes()).isZero();
    assertThatThrownBy(() -> RelaySettings.from(withQueueBytes(c, 65536)))
        .hasMessageContaining("outboxkit.relay.engine.max-queue-bytes")
        .hasMessageContaining("OUTBOXKIT_RELAY_ENGINE_MAX_QUEUE_BYTES")
        .hasMessageContaining("1048576");
  }

  @Test
  void debeziumRetriesStartingTheStreamBrieflyAndAPassThroughSettingWins() {
    RelaySettings s = RelaySettings.from(config(db("app", null, null), "outbox.{event_type}", 10));
    java.util.Properties p = DebeziumProperties.of(s, java.util.Map.of());
    assertThat(p.getProperty("slot.max.retries")).isEqualTo("3");
    assertThat(p.getProperty("slot.retry.delay.ms")).isEqualTo("1000");
    assertThat(
            DebeziumProperties.of(s, java.util.Map.of("slot.retry.delay.ms", "5000"))
                .getProperty("slot.retry.delay.ms"))
        .isEqualTo("5000");
  }

  static RelayConfig withQueueBytes(RelayConfig c, long bytes) {
    RelayConfig.Engine e = c.engine();
    return with(
        c,
        new RelayConfig.Engine(
            e.maxBatchSize(),
            e.maxQueueSize(),
            bytes,
            e.pollInterval(),
            e.heartbeatInterval(),
            e.restartBackoff(),
            e.restartBackoffMax()),
        c.standby());
  }

  static RelayConfig withLease(RelayConfig c, Duration lease) {
    return with(c, c.engine(), new RelayConfig.Standby(c.standby().pollInterval(), lease));
  }

  /** {@code c} with its engine and standby settings replaced. */
  private static RelayConfig with(
      RelayConfig c, RelayConfig.Engine engine, RelayConfig.Standby standby) {
    return new RelayConfig(
        c.database(),
        c.nats(),
        c.stream(),
        c.publish(),
        engine,
        standby,
        c.tracing(),
        c.columns(),
        c.tables(),
        c.slotName(),
        c.publicationName(),
        c.createPublication(),
        c.subjectTemplate(),
        c.deadLetterSubject(),
        c.messagePrefix(),
        c.offsetsTable(),
        c.shutdownTimeout(),
        c.slotCheckInterval(),
        c.exitOnFatal(),
        c.statusPage());
  }

  @Test
  void leaseTimeoutIsAtLeastThreeSeconds() {
    RelayConfig c = config(db("app", null, null), "outbox.{event_type}", 10);
    assertThat(RelaySettings.from(c).standby().leaseTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(RelaySettings.from(withLease(c, Duration.ofSeconds(3))).standby().leaseTimeout())
        .isEqualTo(Duration.ofSeconds(3));
    assertThatThrownBy(() -> RelaySettings.from(withLease(c, Duration.ofMillis(2999))))
        .hasMessageContaining("outboxkit.relay.standby.lease-timeout")
        .hasMessageContaining("OUTBOXKIT_RELAY_STANDBY_LEASE_TIMEOUT")
        .hasMessageContaining("below 3s");
    assertThatThrownBy(() -> RelaySettings.from(withLease(c, Duration.ZERO)))
        .hasMessageContaining("outboxkit.relay.standby.lease-timeout");
    // Not below the duplicate window (2m in config()): allowed, with a warning at start.
    assertThat(RelaySettings.from(withLease(c, Duration.ofMinutes(2))).standby().leaseTimeout())
        .isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void everySessionAsksTheServerForKeepalives() {
    RelaySettings s = RelaySettings.from(config(db("app", null, null), "outbox.{event_type}", 10));
    assertThat(s.jdbcProperties().getProperty("options"))
        .contains("tcp_keepalives_idle=10")
        .contains("tcp_keepalives_interval=5")
        .contains("tcp_keepalives_count=3");
    assertThat(DebeziumProperties.of(s, java.util.Map.of()).getProperty("database.options"))
        .isEqualTo(s.jdbcProperties().getProperty("options"));
    java.util.Properties run = DebeziumProperties.of(s, java.util.Map.of(), 7L);
    assertThat(run.getProperty(PostgresOffsetStore.EPOCH)).isEqualTo("7");
    assertThat(run.getProperty(PostgresOffsetStore.LEADERS))
        .isEqualTo("outboxkit.relay_offsets_leaders");
    assertThat(run.getProperty(PostgresOffsetStore.LEASE_MS)).isEqualTo("10000");
    assertThat(DebeziumProperties.of(s, java.util.Map.of()).getProperty(PostgresOffsetStore.EPOCH))
        .isNull();
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
