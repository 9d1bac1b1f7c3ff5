package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.NatsCluster;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A three-node JetStream cluster with a stream of three replicas: the stream's leader is killed
 * while the relay publishes under load. No acknowledged event is lost, none is stored twice.
 */
class JetStreamClusterIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  @Test
  void killingTheStreamLeaderLosesNoAcknowledgedEvent() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    NatsCluster cluster = infra.privateNatsCluster(3);
    String stream = infra.streamName();
    Map<String, String> env = RelayProcess.env(infra, cluster.urls(), stream);
    env.put("OUTBOXKIT_RELAY_STREAM_REPLICAS", "3");
    try (RelayProcess relay = new RelayProcess(env).start();
        Connection nc = TestInfra.connect(cluster.urls())) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      List<String> committed;
      LoadWriter writer = new LoadWriter(infra.dataSource(), 10);
      String killed;
      try {
        Ports.await(
            "events before the failover",
            Duration.ofSeconds(60),
            () -> StreamContents.count(nc, stream) >= 1000);
        killed = cluster.streamLeader(nc, stream);
        assertThat(killed).isNotNull();
        cluster.node(killed).kill();
        Ports.await(
            "a new stream leader",
            Duration.ofSeconds(60),
            () -> {
              String leader = cluster.streamLeader(nc, stream);
              return leader != null && !leader.equals(killed);
            });
        long at = StreamContents.count(nc, stream);
        Ports.await(
            "events after the failover",
            Duration.ofSeconds(90),
            () -> StreamContents.count(nc, stream) >= at + 1000);
      } finally {
        committed = writer.stop();
      }
      assertThat(writer.lastFailure()).isNull();
      cluster.node(killed).start();
      // Every committed id once. Order is not asserted: a leader change may reorder a window
      // (documented; publish.max-in-flight=1 excludes it).
      StreamContents.awaitCount(nc, stream, committed.size(), Duration.ofMinutes(2));
      List<StreamContents.Stored> stored = StreamContents.readAll(nc, stream);
      assertThat(StreamContents.duplicates(stored)).isEmpty();
      java.util.Set<String> ids = new java.util.HashSet<>();
      stored.forEach(s -> ids.add(s.msgId()));
      java.util.Set<String> missing = new java.util.HashSet<>(committed);
      missing.removeAll(ids);
      assertThat(missing).as("committed ids missing after the failover").isEmpty();
      assertThat(ids).hasSize(committed.size());
    }
  }
}
