package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.NatsProcess;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9, item 4: exactly once in the stream, independent of JetStream's duplicate window. The
 * relay creates its stream with a 2 s window; events it replays after a restart or a NATS outage
 * that lasted longer than that window would be stored a second time unless the relay itself skips
 * what the stream already holds.
 */
class DuplicateWindowIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  private static final Duration WINDOW = Duration.ofSeconds(2);

  @BeforeAll
  static void migrate() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
  }

  /** A relay of its own stream, subjects and slot, on {@code natsUrl}, with a 2 s window. */
  private Map<String, String> env(String stream, String natsUrl) {
    Map<String, String> env = RelayProcess.env(infra, natsUrl, stream, stream.toLowerCase());
    env.put("OUTBOXKIT_RELAY_STREAM_DUPLICATE_WINDOW", WINDOW.toSeconds() + "s");
    return env;
  }

  private static void assertWindow(Connection nc, String stream) throws Exception {
    assertThat(
            nc.jetStreamManagement().getStreamInfo(stream).getConfiguration().getDuplicateWindow())
        .as("the duplicate window of the stream the relay created")
        .isEqualTo(WINDOW);
  }

  /** Waits (with a deadline) until {@code length} has passed since {@code sinceNanos}. */
  private static void keepDown(String what, long sinceNanos, Duration length) {
    Ports.await(
        what + " for " + length,
        length.plusSeconds(30),
        () -> System.nanoTime() - sinceNanos >= length.toNanos());
  }

  /** Waits until every id of {@code ids} is in the stream (a count alone also counts copies). */
  private static void awaitIds(Connection nc, String stream, List<String> ids) {
    Set<String> missing = new HashSet<>(ids);
    Ports.await(
        missing.size() + " ids to be in " + stream,
        Duration.ofSeconds(120),
        () -> {
          if (StreamContents.count(nc, stream) < ids.size()) {
            return false;
          }
          StreamContents.readAll(nc, stream).forEach(m -> missing.remove(m.msgId()));
          return missing.isEmpty();
        });
  }

  @Test
  void relayKilledAndKeptDownLongerThanTheWindowStoresNothingTwice() throws Exception {
    String stream = infra.streamName() + "_KILL";
    Connection nc = infra.nats();
    Map<String, String> env = env(stream, infra.natsUrl());
    // Heartbeats (the relay's own resume points) far apart: its stored resume point lags far
    // behind what it has published. Small batches and one publish in flight make the kill land in
    // the middle of a large transaction, so that the restart replays part of it.
    env.put("OUTBOXKIT_RELAY_ENGINE_HEARTBEAT_INTERVAL", "30s");
    env.put("OUTBOXKIT_RELAY_ENGINE_MAX_BATCH_SIZE", "25");
    env.put("OUTBOXKIT_RELAY_ENGINE_MAX_QUEUE_SIZE", "100");
    env.put("OUTBOXKIT_RELAY_PUBLISH_MAX_IN_FLIGHT", "1");
    OutboxLoad load = new OutboxLoad(infra.dataSource());
    List<String> committed = new ArrayList<>();
    for (int round = 0; round < 2; round++) {
      long killedAt;
      try (RelayProcess relay = new RelayProcess(env).start()) {
        relay.awaitStreaming(Duration.ofSeconds(60));
        if (round == 0) {
          assertWindow(nc, stream);
        }
        // What the previous round left unpublished comes first.
        awaitIds(nc, stream, committed);
        long before = StreamContents.count(nc, stream);
        committed.addAll(load.singleRows(200, round * 100_000));
        List<String> big = load.copy(3000, round * 100_000 + 1000);
        committed.addAll(big);
        Ports.await(
            "the single rows and part of the COPY to be published",
            Duration.ofSeconds(60),
            () -> StreamContents.count(nc, stream) >= before + 300);
        relay.kill();
        killedAt = System.nanoTime();
        Set<String> stored = new HashSet<>();
        StreamContents.readAll(nc, stream).forEach(m -> stored.add(m.msgId()));
        long published = big.stream().filter(stored::contains).count();
        assertThat(published)
            .as(
                "rows of the COPY published before the kill: it must land in the middle of the"
                    + " COPY, or this test proves nothing")
            .isPositive()
            .isLessThan(big.size());
      }
      // Down longer than the window: JetStream has forgotten every id the relay published.
      keepDown("the relay down", killedAt, WINDOW.multipliedBy(3));
    }
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      committed.addAll(load.singleRows(100, 900_000));
      try {
        Delivery.assertExactlyOnce(nc, stream, committed, Set.of(), Duration.ofMinutes(3));
      } catch (RuntimeException | AssertionError e) {
        throw new AssertionError(
            e.getMessage() + "\nrelay log:\n" + relay.logTail() + "\nmetrics:\n" + relay.metrics(),
            e);
      }
      assertThat(relay.metric("outboxkit_relay_events_replays_skipped_total"))
          .as(
              "events the restarted relay found already stored and skipped (proves the restart"
                  + " replayed)")
          .isPositive();
    }
  }

  @Test
  void natsDownLongerThanTheWindowWithMessagesInFlightStoresNothingTwice() throws Exception {
    NatsProcess nats = infra.privateNats();
    String stream = infra.streamName() + "_NATS";
    Map<String, String> env = env(stream, nats.url());
    env.put("OUTBOXKIT_RELAY_PUBLISH_ACK_TIMEOUT", "1s");
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      List<String> committed;
      LoadWriter writer = new LoadWriter(infra.dataSource(), 2);
      try {
        // Three outages, each longer than the window, while the writer keeps committing so that
        // the relay has publishes in flight: SIGKILL (acknowledgements of stored messages are
        // lost), SIGTERM, SIGKILL again.
        for (int outage = 0; outage < 3; outage++) {
          try (Connection nc = TestInfra.connect(nats.url())) {
            if (outage == 0) {
              assertWindow(nc, stream);
            }
            long before = Math.max(StreamContents.count(nc, stream), 0);
            Ports.await(
                "events flowing before outage " + outage,
                Duration.ofSeconds(90),
                () -> StreamContents.count(nc, stream) >= before + 1000);
          }
          if (outage == 1) {
            nats.stop();
          } else {
            nats.kill();
          }
          long downAt = System.nanoTime();
          int committedBefore = writer.committedSoFar();
          keepDown("NATS down", downAt, WINDOW.multipliedBy(5));
          assertThat(relay.isAlive()).as("the relay keeps running without NATS").isTrue();
          assertThat(writer.committedSoFar())
              .as("the writer kept committing")
              .isGreaterThan(committedBefore);
          nats.start();
          Ports.await(
              "readiness to come back after outage " + outage,
              Duration.ofSeconds(90),
              () -> {
                String h = relay.health();
                return h != null && h.startsWith("200");
              });
        }
      } finally {
        committed = writer.stop();
      }
      assertThat(writer.lastFailure()).as("a write failed, though the database was up").isNull();
      try (Connection nc = TestInfra.connect(nats.url())) {
        try {
          Delivery.assertExactlyOnce(
              nc, stream, committed, writer.uncertain(), Duration.ofMinutes(3));
        } catch (RuntimeException | AssertionError e) {
          throw new AssertionError(
              e.getMessage()
                  + "\nrelay log:\n"
                  + relay.logTail()
                  + "\nmetrics:\n"
                  + relay.metrics(),
              e);
        }
      }
      assertThat(relay.metric("outboxkit_relay_publish_retries_total"))
          .as("publishes retried across the outages (proves messages were in flight)")
          .isPositive();
    }
  }
}
