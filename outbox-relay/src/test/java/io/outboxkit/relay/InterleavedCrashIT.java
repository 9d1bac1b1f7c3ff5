package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.PostgresProcess;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Issue 9 item 3: eight writers whose multi-statement transactions interleave (single rows,
 * multi-row INSERTs, a long transaction open across many others' commits, savepoints rolled back,
 * whole transactions rolled back) while the relay is killed with SIGKILL at random moments, at
 * least 25 times ({@code -Dinterleaved.kills=N}), and restarted each time: the stream holds every
 * committed id exactly once and no rolled-back one. Ends with one line, {@code INTERLEAVED-CRASH
 * kills=… events=… lost=… duplicated=…}, that {@code outbox-relay/soak/interleaved-kills.sh} reads.
 *
 * <p>A private PostgreSQL keeps the WAL the relay decodes to this test's own writes, and the
 * writers are paced (40 to 130 rows/s seen here), so that the test stays bounded on a shared
 * machine. Debezium's own heartbeats write no WAL message here ({@link
 * InterleavedResumeIT#debeziumHeartbeatsWithoutWal}): a relay that stores offsets at them resumes
 * from commits, the case of item 3. A relay killed before it stores any offset makes no progress;
 * so whenever the stream has not grown for two kills, the next kill waits until it has.
 */
class InterleavedCrashIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  private static final int WRITERS = 8;

  @Test
  void everyCommittedIdOnceThroughRandomKillsOfTheRelay() throws Exception {
    int kills = Integer.getInteger("interleaved.kills", 25);
    PostgresProcess pg = infra.privatePostgres();
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(pg.jdbcUrl("postgres"));
    ds.setUser("postgres");
    OutboxSchema.migrateOutbox(ds, TableName.DEFAULT_OUTBOX);
    String stream = infra.streamName() + "_IC";
    String prefix = stream.toLowerCase();
    Map<String, String> env = RelayProcess.env(pg, infra.natsUrl(), stream, prefix);
    // Resume points at commits, as in InterleavedResumeIT: the case the kills are to hit.
    InterleavedResumeIT.debeziumHeartbeatsWithoutWal(env);
    Connection nc = infra.nats();
    long started = System.nanoTime();

    // The first start creates the slot: rows committed after it are the relay's to deliver.
    try (RelayProcess first = new RelayProcess(env).start()) {
      first.awaitStreaming(Duration.ofSeconds(120));
    }
    Map<String, Integer> modes = new TreeMap<>();
    List<String> committed;
    Set<String> rolledBack;
    Set<String> uncertain;
    try (InterleavedWriters writers = new InterleavedWriters(ds, WRITERS)) {
      long grownAt = 0;
      long lastCount = 0;
      for (int k = 1; k <= kills; k++) {
        try (RelayProcess relay = new RelayProcess(env).start()) {
          relay.awaitStreaming(Duration.ofSeconds(120));
          String mode =
              k - grownAt > 2 ? awaitProgress(nc, stream, relay) : killAtRandom(nc, stream);
          modes.merge(mode, 1, Integer::sum);
          relay.kill();
        }
        long count = StreamContents.count(nc, stream);
        if (count > lastCount) {
          grownAt = k;
          lastCount = count;
        }
        System.out.printf(
            "InterleavedCrashIT: kill %d/%d after %d s; %d ids committed, stream holds %d%n",
            k,
            kills,
            Duration.ofNanos(System.nanoTime() - started).toSeconds(),
            writers.committedSoFar(),
            count);
      }
      committed = writers.stop();
      rolledBack = writers.rolledBack();
      uncertain = writers.uncertain();
      assertThat(writers.transactions()).as("transactions written").isGreaterThan(100);
    }

    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(120));
      String sentinel = Sentinel.write(ds);
      Sentinel.await(nc, stream, prefix, sentinel, Duration.ofMinutes(5));
      List<StreamContents.Stored> stored = StreamContents.readAll(nc, stream);
      Set<String> ids = new HashSet<>();
      stored.forEach(s -> ids.add(s.msgId()));
      Set<String> lost = new HashSet<>(committed);
      lost.removeAll(ids);
      Set<String> duplicated = StreamContents.duplicates(stored);
      Set<String> rolledBackSeen = new HashSet<>(rolledBack);
      rolledBackSeen.retainAll(ids);
      System.out.printf(
          "INTERLEAVED-CRASH kills=%d events=%d lost=%d duplicated=%d rolledBackPublished=%d"
              + " rolledBack=%d uncertain=%d killModes=%s seconds=%d%n",
          kills,
          committed.size(),
          lost.size(),
          duplicated.size(),
          rolledBackSeen.size(),
          rolledBack.size(),
          uncertain.size(),
          modes,
          Duration.ofNanos(System.nanoTime() - started).toSeconds());
      assertThat(rolledBackSeen)
          .as("rolled-back ids (savepoint or transaction) published")
          .isEmpty();
      assertThat(lost)
          .as("committed ids missing from the stream (%d of %d)", lost.size(), committed.size())
          .isEmpty();
      committed.add(sentinel);
      Delivery.assertExactlyOnce(nc, stream, committed, uncertain, Duration.ofSeconds(30));
    }
  }

  /**
   * Waits a random moment and says which: right after STREAMING, after a random delay, or once a
   * random number of further events is in the stream (bounded, so a slow relay is killed anyway).
   */
  private static String killAtRandom(Connection nc, String stream) throws InterruptedException {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    switch (r.nextInt(3)) {
      case 0:
        return "atStreaming";
      case 1:
        Thread.sleep(r.nextInt(3000)); // a random moment is the point here, not a condition
        return "delay";
      default:
        long before = Math.max(StreamContents.count(nc, stream), 0);
        long more = 1 + r.nextInt(1000);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (StreamContents.count(nc, stream) < before + more && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        return "afterEvents";
    }
  }

  /** Waits until the relay has published new events (not replays): it made progress. */
  private static String awaitProgress(Connection nc, String stream, RelayProcess relay) {
    long before = Math.max(StreamContents.count(nc, stream), 0);
    io.outboxkit.testing.Ports.await(
        "the relay to publish new events after a restart; log:\n" + relay.logTail(),
        Duration.ofSeconds(180),
        () -> StreamContents.count(nc, stream) > before + 50);
    return "afterProgress";
  }
}
