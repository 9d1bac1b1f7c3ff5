package io.outboxkit.testing;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A JetStream cluster of private {@code nats-server} processes on loopback, for tests that kill the
 * leader of a replicated stream. Nodes are named {@code n1}, {@code n2}, ...
 *
 * <pre>{@code
 * try (NatsCluster cluster = NatsCluster.launch(3)) {
 *   String leader = cluster.streamLeader(connection, "OUTBOX");
 *   cluster.node(leader).kill();
 * }
 * }</pre>
 */
public final class NatsCluster implements AutoCloseable {
  private final List<String> names = new ArrayList<>();
  private final List<NatsProcess> nodes = new ArrayList<>();

  private NatsCluster(int size) {
    int[] clientPorts = new int[size];
    int[] routePorts = new int[size];
    for (int i = 0; i < size; i++) {
      clientPorts[i] = Ports.free();
      routePorts[i] = Ports.free();
    }
    for (int i = 0; i < size; i++) {
      String name = "n" + (i + 1);
      StringBuilder routes = new StringBuilder();
      for (int j = 0; j < size; j++) {
        if (j != i) {
          routes.append("    nats-route://127.0.0.1:").append(routePorts[j]).append('\n');
        }
      }
      String extra =
          "server_name: "
              + name
              + "\ncluster {\n  name: outboxkit-test\n  listen: 127.0.0.1:"
              + routePorts[i]
              + "\n  routes: [\n"
              + routes
              + "  ]\n}\n";
      names.add(name);
      nodes.add(new NatsProcess(clientPorts[i], extra));
    }
  }

  /** Starts {@code size} nodes and waits until JetStream has a meta leader. */
  public static NatsCluster launch(int size) {
    NatsCluster cluster = new NatsCluster(size);
    cluster.nodes.forEach(NatsProcess::start);
    try (Connection c = TestInfra.connect(cluster.urls())) {
      Ports.await(
          "the JetStream cluster to elect a meta leader",
          Duration.ofSeconds(60),
          () -> {
            try {
              c.jetStreamManagement().getAccountStatistics();
              return true;
            } catch (IOException | JetStreamApiException e) {
              return false;
            }
          });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return cluster;
  }

  /** Every node's client URL, comma-separated, as NATS clients take them. */
  public String urls() {
    return nodes.stream().map(NatsProcess::url).collect(Collectors.joining(","));
  }

  public NatsProcess node(String name) {
    return nodes.get(names.indexOf(name));
  }

  /** The name of the node that leads {@code stream}, or null while there is none. */
  public String streamLeader(Connection connection, String stream) {
    try {
      var info = connection.jetStreamManagement().getStreamInfo(stream).getClusterInfo();
      return info == null ? null : info.getLeader();
    } catch (IOException | JetStreamApiException e) {
      return null;
    }
  }

  @Override
  public void close() {
    nodes.forEach(NatsProcess::close);
  }
}
