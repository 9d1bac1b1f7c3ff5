package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The outbox is idle while another table takes heavy writes: the relay's heartbeats keep its slot
 * advancing, so the WAL it retains stays small, while an unconsumed slot beside it keeps it all.
 */
class IdleOutboxWalIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  long retained(String slot) {
    return infra
        .jdbi()
        .withHandle(
            h ->
                h.select(
                        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint"
                            + " FROM pg_replication_slots WHERE slot_name = ?",
                        slot)
                    .mapTo(Long.class)
                    .one());
  }

  @Test
  void retainedWalOfTheSlotStaysBounded() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    String control = infra.prefix() + "_control";
    infra
        .jdbi()
        .useHandle(
            h -> {
              h.execute("CREATE TABLE busy (id bigserial PRIMARY KEY, note text)");
              h.select("SELECT pg_create_logical_replication_slot(?, 'pgoutput')", control)
                  .mapToMap()
                  .one();
            });
    String slot = infra.prefix() + "_slot";
    try (RelayProcess relay =
        new RelayProcess(RelayProcess.env(infra, infra.natsUrl(), infra.streamName())).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      // About 100 MB of WAL into a table that is not in the publication.
      for (int i = 0; i < 10; i++) {
        infra
            .jdbi()
            .useHandle(
                h ->
                    h.execute(
                        "INSERT INTO busy (note) SELECT repeat(md5(g::text), 4) FROM"
                            + " generate_series(1, 40000) g"));
      }
      long controlRetained = retained(control);
      assertThat(controlRetained)
          .as("an unconsumed slot keeps the WAL")
          .isGreaterThan(60L * 1024 * 1024);
      // restart_lsn moves with the running-transactions records PostgreSQL logs every 15 s.
      Ports.await(
          "the relay's slot to release WAL (retained now " + retained(slot) + " bytes)",
          Duration.ofSeconds(90),
          () -> {
            infra.jdbi().useHandle(h -> h.execute("CHECKPOINT"));
            return retained(slot) < 16L * 1024 * 1024;
          });
      Ports.await(
          "the retained-WAL metric",
          Duration.ofSeconds(30),
          () -> relay.metric("outboxkit_relay_slot_retained_wal_bytes") < 16L * 1024 * 1024);
      assertThat(relay.metric("outboxkit_relay_heartbeat_age_seconds")).isLessThan(30);
    } finally {
      infra
          .jdbi()
          .useHandle(h -> h.select("SELECT pg_drop_replication_slot(?)", control).mapToMap().one());
    }
  }
}
