package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Two relays on one slot: one streams, one waits; kill the active one and the other takes over. */
class StandbyIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  @Test
  void standbyTakesOverWithinSecondsAndNothingIsLost() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    String stream = infra.streamName();
    Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream);
    Connection nc = infra.nats();
    try (RelayProcess first = new RelayProcess(env).start()) {
      first.awaitStreaming(Duration.ofSeconds(60));
      try (RelayProcess second = new RelayProcess(env).start()) {
        second.awaitState("STANDBY", Duration.ofSeconds(60));
        assertThat(second.health()).startsWith("200").contains("\"role\":\"standby\"");
        assertThat(second.metric("outboxkit_relay_active")).isZero();
        List<String> committed;
        try (LoadWriter writer = new LoadWriter(infra.dataSource(), 3)) {
          Ports.await(
              "events through the first relay",
              Duration.ofSeconds(60),
              () -> StreamContents.count(nc, stream) >= 1000);
          first.kill();
          long killed = System.nanoTime();
          second.awaitStreaming(Duration.ofSeconds(60));
          long takeoverMillis = (System.nanoTime() - killed) / 1_000_000;
          System.out.println("standby took over " + takeoverMillis + " ms after the kill");
          assertThat(takeoverMillis).as("takeover time").isLessThan(30_000);
          long at = StreamContents.count(nc, stream);
          Ports.await(
              "events through the second relay",
              Duration.ofSeconds(60),
              () -> StreamContents.count(nc, stream) >= at + 500);
          committed = writer.stop();
        }
        Delivery.assertExactlyOnce(nc, stream, committed, Set.of(), Duration.ofMinutes(2));
        assertThat(second.metric("outboxkit_relay_active")).isEqualTo(1.0);
      }
    }
  }
}
