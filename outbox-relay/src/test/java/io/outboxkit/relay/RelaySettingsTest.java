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
        "localhost", 5432, name, "postgres", password, passwordFile, "prefer");
  }

  static RelayConfig config(RelayConfig.Database db, String template, int inFlight) {
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
    assertThat(s.jdbcUrl()).doesNotContain("secret");
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
}
