package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The relay dies at bad moments (SIGKILL under load, with publishes in flight, right after a
 * multi-row INSERT or COPY) and is restarted: every committed event is in the stream exactly once,
 * in commit order per aggregate. A SIGTERM drains and leaves nothing to replay.
 */
class RelayCrashIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  @BeforeAll
  static void migrate() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
  }

  /** Each test its own stream, subjects and slot. */
  private Map<String, String> env(String stream) {
    String prefix = stream.toLowerCase();
    return RelayProcess.env(
        infra.pgHost(),
        infra.pgPort(),
        infra.database(),
        infra.pgUser(),
        infra.pgPassword(),
        infra.natsUrl(),
        stream,
        prefix);
  }

  @Test
  void killNineUnderLoadAtSeveralPointsLosesAndDuplicatesNothing() throws Exception {
    String stream = infra.streamName() + "_KILL";
    Connection nc = infra.nats();
    Map<String, String> env = env(stream);
    // The first start creates the slot: only rows committed after it are the relay's to deliver.
    new RelayProcess(env).start().awaitStreaming(Duration.ofSeconds(60)).kill();
    try (LoadWriter writer = new LoadWriter(infra.dataSource(), 2)) {
      // Kill while publishing: once some more events have been acknowledged.
      RelayProcess.killWhilePublishing(env, nc, stream, 4, 200, 3000);
      List<String> committed = writer.stop();
      try (RelayProcess relay = new RelayProcess(env).start()) {
        relay.awaitStreaming(Duration.ofSeconds(60));
        Delivery.assertExactlyOnce(
            nc, stream, committed, writer.uncertain(), Duration.ofMinutes(3));
      }
    }
  }

  @Test
  void copyAndMultiRowInsertThenKillNineDeliverEveryRow() throws Exception {
    // Debezium 3.6.1 loses rows of a multi-insert (COPY) that shares one LSN when restarted from
    // the offset of one of them (dbz#1554). Small batches and one publish in flight make the kill
    // land in the middle of the COPY.
    String stream = infra.streamName() + "_COPY";
    Connection nc = infra.nats();
    Map<String, String> env = env(stream);
    env.put("OUTBOXKIT_RELAY_ENGINE_MAX_BATCH_SIZE", "25");
    env.put("OUTBOXKIT_RELAY_ENGINE_MAX_QUEUE_SIZE", "100");
    env.put("OUTBOXKIT_RELAY_PUBLISH_MAX_IN_FLIGHT", "1");
    OutboxLoad load = new OutboxLoad(infra.dataSource());
    List<String> committed = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      try (RelayProcess relay = new RelayProcess(env).start()) {
        relay.awaitStreaming(Duration.ofSeconds(60));
        long before = Math.max(StreamContents.count(nc, stream), 0);
        List<String> batch =
            round % 2 == 0
                ? load.copy(3000, round * 10_000)
                : load.multiRowInserts(3, 1000, round * 10_000);
        committed.addAll(batch);
        Ports.await(
            "part of the batch to be published",
            Duration.ofSeconds(60),
            () -> StreamContents.count(nc, stream) >= before + 100);
        relay.kill();
        assertThat(StreamContents.count(nc, stream))
            .as(
                "the kill must land before the whole batch is published, or this test proves nothing")
            .isLessThan(before + batch.size());
      }
    }
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      Delivery.assertExactlyOnce(nc, stream, committed, Set.of(), Duration.ofMinutes(3));
    }
  }

  @Test
  void sigtermDrainsAndTheRestartPublishesNoDuplicates() throws Exception {
    String stream = infra.streamName() + "_TERM";
    Connection nc = infra.nats();
    Map<String, String> env = env(stream);
    List<String> committed;
    String firstLog;
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      try (LoadWriter writer = new LoadWriter(infra.dataSource(), 2)) {
        Ports.await(
            "some events published",
            Duration.ofSeconds(60),
            () -> StreamContents.count(nc, stream) >= 2000);
        int exit = relay.stop();
        assertThat(exit).as("exit status after SIGTERM; log:\n" + relay.logTail()).isNotEqualTo(2);
        assertThat(relay.log()).contains("stopping: draining").contains("stopped");
        firstLog = relay.logTail();
        committed = writer.stop();
      }
    }
    long storedBeforeRestart = StreamContents.count(nc, stream);
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      try {
        Delivery.assertExactlyOnce(nc, stream, committed, Set.of(), Duration.ofMinutes(2));
      } catch (RuntimeException | AssertionError e) {
        throw new AssertionError(
            e.getMessage()
                + "\nfirst relay:\n"
                + firstLog
                + "\nrelay log:\n"
                + relay.logTail()
                + "\nmetrics:\n"
                + relay.metrics(),
            e);
      }
      assertThat(relay.metric("outboxkit_relay_events_duplicates_total"))
          .as("events the restarted relay published again")
          .isZero();
      assertThat(relay.metric("outboxkit_relay_events_published_total"))
          .as("the restarted relay publishes exactly what the stopped one had not")
          .isEqualTo((double) (committed.size() - storedBeforeRestart));
    }
  }
}
