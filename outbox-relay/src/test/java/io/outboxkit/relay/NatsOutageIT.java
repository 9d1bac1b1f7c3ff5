package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.NatsProcess;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * NATS goes away for 30 s while writers keep committing: the relay reports not ready, holds its
 * offset, and recovers by itself when NATS is back; nothing is lost or stored twice.
 */
class NatsOutageIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  @Test
  void natsStoppedForThirtySecondsWhileWritersWriteLosesNothing() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    NatsProcess nats = infra.privateNats();
    String stream = infra.streamName();
    try (RelayProcess relay =
        new RelayProcess(RelayProcess.env(infra, nats.url(), stream)).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      List<String> committed;
      LoadWriter writer = new LoadWriter(infra.dataSource(), 20);
      try {
        try (Connection nc = TestInfra.connect(nats.url())) {
          Ports.await(
              "events before the outage",
              Duration.ofSeconds(60),
              () -> StreamContents.count(nc, stream) >= 500);
        }
        nats.stop();
        long outageStart = System.nanoTime();
        int before = writer.committedSoFar();
        Ports.await(
            "readiness to go down while NATS is away",
            Duration.ofSeconds(20),
            () -> {
              String h = relay.health();
              return h != null && h.startsWith("503");
            });
        // The outage lasts 30 s; the writers keep writing all along.
        Ports.await(
            "30 s of outage",
            Duration.ofSeconds(40),
            () -> System.nanoTime() - outageStart >= Duration.ofSeconds(30).toNanos());
        assertThat(relay.isAlive()).as("the relay keeps running without NATS").isTrue();
        assertThat(writer.committedSoFar()).as("writers kept committing").isGreaterThan(before);
        nats.start();
        Ports.await(
            "readiness to come back",
            Duration.ofSeconds(60),
            () -> {
              String h = relay.health();
              return h != null && h.startsWith("200");
            });
      } finally {
        committed = writer.stop();
      }
      assertThat(writer.lastFailure()).as("a write failed, though the database was up").isNull();
      try (Connection nc = TestInfra.connect(nats.url())) {
        Delivery.assertExactlyOnce(
            nc, stream, committed, writer.uncertain(), Duration.ofMinutes(2));
      }
      assertThat(relay.metric("outboxkit_relay_publish_retries_total")).isPositive();
    }
  }
}
