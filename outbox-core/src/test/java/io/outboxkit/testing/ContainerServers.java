package io.outboxkit.testing;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.postgresql.PostgreSQLContainer;

/** Servers in containers, used only when a Docker engine answers. Loaded only then. */
final class ContainerServers {
  private ContainerServers() {}

  static SharedServers.Pg postgres() {
    requireDocker();
    PostgreSQLContainer pg =
        new PostgreSQLContainer("postgres:16-alpine")
            .withCommand("postgres", "-c", "wal_level=logical", "-c", "max_replication_slots=32")
            .withUsername("postgres")
            .withPassword("postgres");
    pg.start();
    return new SharedServers.Pg(
        pg.getHost(), pg.getMappedPort(5432), "postgres", "postgres", pg.getDatabaseName());
  }

  static String nats() {
    requireDocker();
    GenericContainer<?> nats =
        new GenericContainer<>("nats:2.10-alpine")
            .withCommand("-js")
            .withExposedPorts(4222)
            .waitingFor(Wait.forListeningPort());
    nats.start();
    return "nats://" + nats.getHost() + ":" + nats.getMappedPort(4222);
  }

  private static void requireDocker() {
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      throw new IllegalStateException("no Docker engine answers");
    }
  }
}
