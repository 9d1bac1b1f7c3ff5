package io.outboxkit.relay;

import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.PostgresProcess;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

/** PostgreSQL restarts, then crashes, under load: the relay reconnects and resumes by itself. */
class PostgresRestartIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  @Test
  void restartAndCrashOfPostgresLoseNothing() throws Exception {
    PostgresProcess pg = infra.privatePostgres();
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(pg.jdbcUrl("postgres"));
    ds.setUser("postgres");
    // A write whose connection PostgreSQL's crash left hanging fails after 30 s and counts as in
    // doubt, and the writer goes on (once, beside other tests, it committed nothing for 2 minutes
    // after the crash while the relay streamed; the writer's stack is now in the message).
    ds.setConnectTimeout(10);
    ds.setLoginTimeout(10);
    ds.setSocketTimeout(30);
    OutboxSchema.migrateOutbox(ds, TableName.DEFAULT_OUTBOX);
    String stream = infra.streamName();
    Connection nc = infra.nats();
    try (RelayProcess relay =
        new RelayProcess(RelayProcess.env(pg, infra.natsUrl(), stream, infra.prefix())).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      List<String> committed;
      LoadWriter writer = new LoadWriter(ds, 5);
      try {
        awaitMore(nc, stream, 300, relay, writer);
        pg.restart(); // pg_ctl restart -m fast: every connection drops
        awaitMore(nc, stream, 300, relay, writer);
        pg.kill(); // SIGKILL of the postmaster: a crash, then crash recovery
        pg.start();
        awaitMore(nc, stream, 300, relay, writer);
      } finally {
        committed = writer.stop();
      }
      relay.awaitStreaming(Duration.ofSeconds(60));
      Delivery.assertExactlyOnce(nc, stream, committed, writer.uncertain(), Duration.ofMinutes(2));
    }
  }

  private static void awaitMore(
      Connection nc, String stream, long more, RelayProcess relay, LoadWriter writer) {
    long base = Math.max(0, StreamContents.count(nc, stream));
    int writtenBefore = writer.committedSoFar();
    try {
      Ports.await(
          more + " more events relayed",
          Duration.ofSeconds(120),
          () -> StreamContents.count(nc, stream) >= base + more);
    } catch (IllegalStateException e) {
      throw new AssertionError(
          e.getMessage()
              + ": stream had "
              + base
              + ", has "
              + StreamContents.count(nc, stream)
              + "; writer committed "
              + (writer.committedSoFar() - writtenBefore)
              + " meanwhile, "
              + writer.failures()
              + " failed writes, last: "
              + writer.lastFailure()
              + "\nthe writer now: "
              + writer.where()
              + "\nrelay metrics:\n"
              + relay.metrics()
              + "\nrelay log:\n"
              + relay.logTail(),
          e);
    }
  }
}
