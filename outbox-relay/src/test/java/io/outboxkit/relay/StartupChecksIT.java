package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.api.StreamConfiguration;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.NatsProcess;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.PostgresProcess;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What an operator gets wrong, the relay names at start-up with the fix, and exits with status 2;
 * what may pass (NATS down) it waits out, not ready, without exiting.
 */
class StartupChecksIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static int run;

  private Map<String, String> env() {
    run++;
    String prefix = infra.prefix() + "c" + run;
    return RelayProcess.env(
        infra.pgHost(),
        infra.pgPort(),
        infra.database(),
        infra.pgUser(),
        infra.pgPassword(),
        infra.natsUrl(),
        infra.streamName() + "_C" + run,
        prefix);
  }

  private static String refused(Map<String, String> env) {
    try (RelayProcess relay = new RelayProcess(env).start()) {
      int exit = relay.waitExit(Duration.ofSeconds(60));
      assertThat(exit).as("exit status; log:\n" + relay.logTail()).isEqualTo(2);
      return relay.log();
    }
  }

  private void migrate() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
  }

  @Test
  void missingSettingIsNamedWithItsEnvironmentVariable() {
    Map<String, String> env = env();
    env.remove("OUTBOXKIT_RELAY_DATABASE_NAME");
    assertThat(refused(env))
        .contains("outboxkit.relay.database.name")
        .contains("OUTBOXKIT_RELAY_DATABASE_NAME")
        .contains("is not set");
  }

  @Test
  void badSettingValuesAreNamedWithTheFix() {
    Map<String, String> env = env();
    env.put("OUTBOXKIT_RELAY_SUBJECT_TEMPLATE", "outbox.{aggregate}.>");
    assertThat(refused(env)).contains("outboxkit.relay.subject-template").contains("{aggregate}");
    env = env();
    env.put("OUTBOXKIT_RELAY_DATABASE_PASSWORD_FILE", "/no/such/file");
    env.remove("OUTBOXKIT_RELAY_DATABASE_PASSWORD");
    assertThat(refused(env))
        .contains("outboxkit.relay.database.password-file")
        .contains("/no/such/file");
  }

  @Test
  void walLevelReplicaIsRefusedWithTheFix() {
    PostgresProcess pg = infra.privatePostgres(Map.of("wal_level", "replica"));
    Map<String, String> env =
        RelayProcess.env(pg, infra.natsUrl(), infra.streamName() + "_W", infra.prefix() + "w");
    assertThat(refused(env))
        .contains("wal_level=replica")
        .contains("ALTER SYSTEM SET wal_level = logical");
  }

  @Test
  void userWithoutReplicationIsRefusedWithTheFix() {
    migrate();
    infra
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    "DO $$ BEGIN CREATE ROLE norepl LOGIN PASSWORD 'pw'; EXCEPTION WHEN duplicate_object THEN NULL; END $$"));
    Map<String, String> env = env();
    env.put("OUTBOXKIT_RELAY_DATABASE_USER", "norepl");
    env.put("OUTBOXKIT_RELAY_DATABASE_PASSWORD", "pw");
    assertThat(refused(env))
        .contains("lacks the REPLICATION privilege")
        .contains("ALTER ROLE norepl WITH REPLICATION");
  }

  @Test
  void missingOutboxTableIsRefusedWithTheFix() {
    Map<String, String> env = env();
    env.put("OUTBOXKIT_RELAY_TABLES", "public.no_such_outbox");
    assertThat(refused(env))
        .contains("outbox table public.no_such_outbox does not exist")
        .contains("OutboxSchema.migrateOutbox");
  }

  @Test
  void slotOfAnotherPluginIsRefused() {
    migrate();
    Map<String, String> env = env();
    String slot = env.get("OUTBOXKIT_RELAY_SLOT_NAME");
    infra
        .jdbi()
        .useHandle(
            h ->
                h.select("SELECT pg_create_logical_replication_slot(?, 'test_decoding')", slot)
                    .mapToMap()
                    .one());
    assertThat(refused(env)).contains("uses plugin test_decoding, not pgoutput");
  }

  @Test
  void slotUsedWithAnotherPublicationIsRefused() {
    migrate();
    Map<String, String> env = env();
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      relay.stop();
    }
    env.put(
        "OUTBOXKIT_RELAY_PUBLICATION_NAME", env.get("OUTBOXKIT_RELAY_PUBLICATION_NAME") + "_other");
    assertThat(refused(env)).contains("was used with publication").contains("use a new slot name");
  }

  @Test
  void streamWhoseSubjectsDoNotCoverTheTemplateIsRefused() throws Exception {
    migrate();
    Map<String, String> env = env();
    infra
        .nats()
        .jetStreamManagement()
        .addStream(
            StreamConfiguration.builder()
                .name(env.get("OUTBOXKIT_RELAY_STREAM_NAME"))
                .subjects("elsewhere" + run + ".>")
                .build());
    assertThat(refused(env))
        .contains("do not cover")
        .contains(
            env.get("OUTBOXKIT_RELAY_SUBJECT_TEMPLATE")
                .replace("{aggregate_type}", "*")
                .replace("{event_type}", "*"));
  }

  @Test
  void stateTablesMayShareTheOutboxSchema() {
    migrate();
    Map<String, String> env = env();
    env.put("OUTBOXKIT_RELAY_OFFSETS_TABLE", "public.relay_offsets_c" + run);
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
    }
  }

  @Test
  void natsUnreachableAtStartMeansNotReadyAndRetryingUntilItComes() {
    migrate();
    NatsProcess nats = infra.privateNats();
    nats.stop();
    Map<String, String> env = env();
    env.put("OUTBOXKIT_RELAY_NATS_SERVERS", nats.url());
    try (RelayProcess relay = new RelayProcess(env).start()) {
      Ports.await(
          "the relay to report NATS down",
          Duration.ofSeconds(60),
          () -> {
            String h = relay.health();
            return h != null && h.startsWith("503") && h.contains("cannot connect to NATS");
          });
      assertThat(relay.isAlive()).isTrue();
      nats.start();
      relay.awaitStreaming(Duration.ofSeconds(60));
      assertThat(relay.health()).startsWith("200");
    }
  }
}
