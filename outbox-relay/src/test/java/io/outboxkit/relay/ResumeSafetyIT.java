package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Where the relay would have to guess where to resume, it stops with exit status 2 and says what
 * happened and what to do: a slot dropped while it was down, offsets truncated or corrupt. It never
 * silently starts from now.
 */
class ResumeSafetyIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static int run;
  Map<String, String> env;
  String slot;

  @BeforeEach
  void streamedBefore() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    run++;
    String prefix = infra.prefix() + "r" + run;
    slot = prefix + "_slot";
    env =
        RelayProcess.env(
            infra.pgHost(),
            infra.pgPort(),
            infra.database(),
            infra.pgUser(),
            infra.pgPassword(),
            infra.natsUrl(),
            infra.streamName() + "_R" + run,
            prefix);
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      new OutboxLoad(infra.dataSource()).singleRows(20, 0);
      io.outboxkit.testing.Ports.await(
          "an offset to be stored",
          Duration.ofSeconds(30),
          () ->
              infra
                      .jdbi()
                      .withHandle(
                          h ->
                              h.select(
                                      "SELECT count(*) FROM outboxkit.relay_offsets WHERE slot_name = ?",
                                      slot)
                                  .mapTo(Integer.class)
                                  .one())
                  > 0);
      assertThat(relay.stop()).isNotEqualTo(2);
    }
  }

  private String refusedStart() {
    try (RelayProcess relay = new RelayProcess(env).start()) {
      int exit = relay.waitExit(Duration.ofSeconds(60));
      assertThat(exit).as("exit status; log:\n" + relay.logTail()).isEqualTo(2);
      return relay.log();
    }
  }

  @Test
  void slotDroppedWhileDownIsRefusedWithWhatHappened() {
    infra
        .jdbi()
        .useHandle(h -> h.select("SELECT pg_drop_replication_slot(?)", slot).mapToMap().one());
    assertThat(refusedStart())
        .contains("replication slot " + slot + " is gone")
        .contains("dropped while the relay was down")
        .contains("refuses to start from now")
        .contains("DELETE FROM outboxkit.relay_offsets");
    assertThat(slotExists()).as("the relay must not create a new slot").isFalse();
  }

  @Test
  void truncatedOffsetsAreRefused() {
    infra
        .jdbi()
        .useHandle(h -> h.execute("DELETE FROM outboxkit.relay_offsets WHERE slot_name = ?", slot));
    assertThat(refusedStart())
        .contains("stored offsets of slot " + slot)
        .contains("are missing")
        .contains("DELETE FROM outboxkit.relay_offsets_slots");
  }

  @Test
  void corruptOffsetIsRefused() {
    infra
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    "UPDATE outboxkit.relay_offsets SET offset_value = convert_to('{\"lsn\": 12', 'UTF8')"
                        + " WHERE slot_name = ?",
                    slot));
    assertThat(refusedStart()).contains("is corrupt").contains("will not guess where to resume");
  }

  @Test
  void slotAdvancedPastTheOffsetIsRefused() throws Exception {
    // Another client consumed from the slot while the relay was down.
    new OutboxLoad(infra.dataSource()).singleRows(5, 100);
    infra
        .jdbi()
        .useHandle(
            h ->
                h.select("SELECT pg_replication_slot_advance(?, pg_current_wal_lsn())", slot)
                    .mapToMap()
                    .one());
    assertThat(refusedStart()).contains("past the relay's stored offset");
  }

  private boolean slotExists() {
    return infra
        .jdbi()
        .withHandle(
            h ->
                h.select("SELECT count(*) FROM pg_replication_slots WHERE slot_name = ?", slot)
                        .mapTo(Integer.class)
                        .one()
                    > 0);
  }
}
