package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.UuidV7;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.PostgresProcess;
import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Standby fencing: the active relay is frozen (SIGSTOP: its process stops, its kernel still answers
 * TCP, so no keepalive notices anything) under load from several writers, for longer than the
 * takeover bound. The standby must take over within the bound; the old leader, woken (SIGCONT),
 * must stop with status 3 and neither publish nor store an offset after it lost the lead; the
 * stream holds every committed row once, in commit order per aggregate, with its payload intact.
 *
 * <p>The stream's duplicate window is 15 s, shorter than the freeze: anything the woken leader
 * published (a stale batch, or what its NATS client still buffered) would be stored again and show
 * as a duplicate or out of order. Every offset write is recorded by a trigger with its epoch, in
 * the same sequence as the epoch changes, so a write by the old leader after the takeover shows.
 */
class StandbyFencingIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  /** {@code standby.lease-timeout}: the default. */
  private static final Duration LEASE = Duration.ofSeconds(10);

  /** {@code standby.poll-interval} as {@link RelayProcess#env} sets it. */
  private static final Duration POLL = Duration.ofMillis(500);

  /**
   * The documented takeover bound: lease timeout + poll interval + the new leader's start (checks,
   * epoch, freeing the slot, engine start) as long as an ordinary start takes, allowed 40 s here:
   * on this 2-core machine shared with other builds and under the test's own load, a start took 20
   * to 26 s (about 3-5 s on an idle machine).
   */
  private static final Duration BOUND = LEASE.plus(POLL).plusSeconds(40);

  private static final int WRITERS = 4;

  @Test
  void frozenLeaderIsFencedAndTheStandbyTakesOverWithinTheBound() throws Exception {
    PostgresProcess pg = infra.privatePostgres();
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(pg.jdbcUrl("postgres"));
    ds.setUser("postgres");
    OutboxSchema.migrateOutbox(ds, TableName.DEFAULT_OUTBOX);
    String stream = infra.streamName();
    String prefix = infra.prefix();
    String slot = prefix + "_slot";
    Map<String, String> env =
        new LinkedHashMap<>(RelayProcess.env(pg, infra.natsUrl(), stream, prefix));
    env.put("OUTBOXKIT_RELAY_STREAM_DUPLICATE_WINDOW", "15s");
    Connection nc = infra.nats();
    List<String> committed;
    Set<String> uncertain;
    Map<String, byte[]> payloads;
    try (RelayProcess first = new RelayProcess(env).start()) {
      first.awaitStreaming(Duration.ofSeconds(90));
      auditOffsetsAndEpochs(ds);
      try (RelayProcess second = new RelayProcess(env).start()) {
        second.awaitState("STANDBY", Duration.ofSeconds(90));
        Writers writers = new Writers(ds, WRITERS);
        try {
          Ports.await(
              "events through the first relay",
              Duration.ofSeconds(90),
              () -> StreamContents.count(nc, stream) >= 1000);
          long oldEpoch = epoch(ds, slot);
          assertThat(first.health()).contains("\"role\":\"active\"", "\"epoch\":" + oldEpoch);

          first.signal("STOP");
          long frozen = System.nanoTime();
          System.out.println("SIGSTOP of the active relay at " + java.time.Instant.now());
          // Taken over: it leads the slot and streams (Debezium's task runs on the replication
          // stream). Caught up: readiness UP, its first checkpoint (written after the backlog the
          // freeze left) went through.
          second.awaitState("STREAMING", BOUND.plusSeconds(60));
          long takeoverMillis = (System.nanoTime() - frozen) / 1_000_000;
          second.awaitStreaming(Duration.ofSeconds(120));
          long caughtUpMillis = (System.nanoTime() - frozen) / 1_000_000;
          System.out.println(
              "standby took over "
                  + takeoverMillis
                  + " ms after the active relay froze (bound "
                  + BOUND.toMillis()
                  + " ms); caught up with the backlog after "
                  + caughtUpMillis
                  + " ms");
          System.out.println(
              "the standby's log around the takeover:\n" + takeoverLines(second.log()));
          assertThat(takeoverMillis).as("takeover time after SIGSTOP").isLessThan(BOUND.toMillis());
          long newEpoch = epoch(ds, slot);
          assertThat(newEpoch).isGreaterThan(oldEpoch);
          assertThat(second.health()).contains("\"role\":\"active\"", "\"epoch\":" + newEpoch);
          assertThat(second.log())
              .as("the old leader's walsender was ended, not waited for (wal_sender_timeout 60s)")
              .contains("the walsender of the relay that lost the lock");

          long atTakeover = StreamContents.count(nc, stream);
          Ports.await(
              "events through the new leader while the old one is frozen",
              Duration.ofSeconds(90),
              () -> StreamContents.count(nc, stream) >= atTakeover + 1000);
          // The freeze outlasts the bound (and the stream's duplicate window).
          Ports.await(
              "the freeze to outlast the bound",
              BOUND.plusSeconds(30),
              () -> System.nanoTime() - frozen > BOUND.toNanos());

          first.signal("CONT");
          int status = first.waitExit(Duration.ofSeconds(90));
          System.out.println("the old leader's log:\n" + takeoverLines(first.log()));
          assertThat(status)
              .as("exit status of the fenced relay; log:\n" + first.logTail())
              .isEqualTo(RelaySupervisor.EXIT_FENCED);
          assertThat(first.log())
              .contains("fenced: relay epoch " + oldEpoch + " of slot " + slot)
              .contains("superseded by epoch " + newEpoch);

          long afterWake = StreamContents.count(nc, stream);
          Ports.await(
              "events through the new leader after the old one woke",
              Duration.ofSeconds(90),
              () -> StreamContents.count(nc, stream) >= afterWake + 500);
        } finally {
          writers.stop();
        }
        committed = writers.committed();
        uncertain = writers.uncertain();
        payloads = writers.payloads();
        assertThat(writers.failures()).as("failed writes").isZero();
        assertThat(committed.size()).isGreaterThan(2500);

        List<StreamContents.Stored> stored =
            Delivery.assertExactlyOnce(nc, stream, committed, uncertain, Duration.ofMinutes(3));
        for (StreamContents.Stored s : stored) {
          byte[] expected = payloads.get(s.msgId());
          if (expected != null && !java.util.Arrays.equals(expected, s.data())) {
            throw new AssertionError("payload of " + s.msgId() + " changed on the way");
          }
        }
        assertNoOffsetStoredByTheOldLeaderAfterTheTakeover(ds);
        assertThat(second.metric("outboxkit_relay_active")).isEqualTo(1.0);
        assertThat(second.metric("outboxkit_relay_leader_epoch"))
            .isEqualTo((double) epoch(ds, slot));
      }
    }
  }

  private static String takeoverLines(String log) {
    StringBuilder sb = new StringBuilder();
    for (String line : log.split("\n")) {
      if (line.matches(".*(lock|epoch|walsender|standby|streaming|fenced|WARN|ERROR).*")) {
        sb.append(line).append('\n');
      }
    }
    return sb.toString();
  }

  private static long epoch(DataSource ds, String slot) throws SQLException {
    try (java.sql.Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT epoch FROM outboxkit.relay_offsets_leaders WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).as("a leader epoch for slot " + slot).isTrue();
        return rs.getLong(1);
      }
    }
  }

  /**
   * Records every offset write (with the epoch it carries) and every epoch change in one sequence.
   * An offset write under way holds the epoch's row until it commits, and a new leader raises the
   * epoch on that row, so the sequence orders them as PostgreSQL did.
   */
  private static void auditOffsetsAndEpochs(DataSource ds) throws SQLException {
    try (java.sql.Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE public.fencing_audit (n bigserial PRIMARY KEY, kind text NOT NULL,"
              + " epoch bigint, lsn text, at timestamptz NOT NULL DEFAULT clock_timestamp())");
      s.execute(
          "CREATE FUNCTION public.fencing_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
              + " IF TG_TABLE_NAME = 'relay_offsets' THEN"
              + "   INSERT INTO public.fencing_audit (kind, epoch, lsn)"
              + "   VALUES ('offset', NEW.epoch, convert_from(NEW.offset_value, 'UTF8')::jsonb->>'lsn');"
              + " ELSE"
              + "   INSERT INTO public.fencing_audit (kind, epoch) VALUES ('epoch', NEW.epoch);"
              + " END IF; RETURN NEW; END $$");
      s.execute(
          "CREATE TRIGGER fencing_audit AFTER INSERT OR UPDATE ON outboxkit.relay_offsets"
              + " FOR EACH ROW EXECUTE FUNCTION public.fencing_audit()");
      s.execute(
          "CREATE TRIGGER fencing_audit AFTER INSERT OR UPDATE ON outboxkit.relay_offsets_leaders"
              + " FOR EACH ROW EXECUTE FUNCTION public.fencing_audit()");
    }
  }

  /**
   * Every offset write after an epoch change carries that epoch (none of an older one), and the
   * stored positions never go back.
   */
  private static void assertNoOffsetStoredByTheOldLeaderAfterTheTakeover(DataSource ds)
      throws SQLException {
    List<String> violations = new ArrayList<>();
    long current = -1;
    long lastLsn = -1;
    int offsets = 0;
    int epochs = 0;
    try (java.sql.Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT n, kind, epoch, lsn FROM public.fencing_audit ORDER BY n")) {
      while (rs.next()) {
        long epoch = rs.getLong(3);
        if (rs.getString(2).equals("epoch")) {
          current = epoch;
          epochs++;
          continue;
        }
        offsets++;
        if (current >= 0 && epoch != current) {
          violations.add(
              "offset write #"
                  + rs.getLong(1)
                  + " by epoch "
                  + epoch
                  + " while "
                  + current
                  + " leads");
        }
        long lsn = Long.parseLong(rs.getString(4));
        if (lsn < lastLsn) {
          violations.add(
              "offset write #" + rs.getLong(1) + " moved back to LSN " + lsn + " from " + lastLsn);
        }
        lastLsn = lsn;
      }
    }
    assertThat(epochs).as("epoch changes recorded (the takeover)").isGreaterThanOrEqualTo(1);
    assertThat(offsets).as("offset writes recorded").isGreaterThan(10);
    assertThat(violations).as("offset writes against the fence").isEmpty();
  }

  /**
   * Several writers committing outbox rows at once, each with aggregates of its own (so commit
   * order per aggregate is each writer's order), ids of names, payloads of Unicode text with CR/LF,
   * in transactions of one to five rows.
   */
  static final class Writers {
    private static final String INSERT =
        "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload)"
            + " VALUES (?, 'meter', ?, 'ReadingRecorded', ?)";
    private final DataSource ds;
    private final List<List<String>> committed = new ArrayList<>();
    private final Set<String> uncertain = Collections.synchronizedSet(new HashSet<>());
    private final Map<String, byte[]> payloads = Collections.synchronizedMap(new HashMap<>());
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> threads = new ArrayList<>();
    private volatile int failures;

    Writers(DataSource ds, int n) {
      this.ds = ds;
      for (int w = 0; w < n; w++) {
        List<String> mine = Collections.synchronizedList(new ArrayList<>());
        committed.add(mine);
        int writer = w;
        Thread t = new Thread(() -> run(writer, mine), "fencing-writer-" + w);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
    }

    static String aggregate(int writer, int k) {
      return "Zähler-" + writer + "-" + (k % 7) + "-⚡ Straße";
    }

    static byte[] payload(int writer, int k) {
      return ("{\"writer\":"
              + writer
              + ",\"k\":"
              + k
              + ",\"text\":\"Grüße aus Köln 🌍\\r\\nÄÖÜ ß — 日本語 🔌\",\"raw\":\"line1\r\nline2\"}")
          .getBytes(StandardCharsets.UTF_8);
    }

    private void run(int writer, List<String> mine) {
      int k = 0;
      while (running.get()) {
        int rows = 1 + ThreadLocalRandom.current().nextInt(5);
        List<String> ids = new ArrayList<>(rows);
        try (java.sql.Connection c = ds.getConnection();
            PreparedStatement ps = c.prepareStatement(INSERT)) {
          c.setAutoCommit(false);
          for (int r = 0; r < rows; r++, k++) {
            UUID id = UuidV7.next();
            byte[] p = payload(writer, k);
            ps.setObject(1, id);
            ps.setString(2, aggregate(writer, k));
            ps.setBytes(3, p);
            ps.addBatch();
            ids.add(id.toString());
            payloads.put(id.toString(), p);
          }
          ps.executeBatch();
          c.commit();
          mine.addAll(ids);
        } catch (SQLException e) {
          uncertain.addAll(ids);
          failures++;
        }
        try {
          // Pacing of the load generator, not a wait for a condition.
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(60_000);
      }
    }

    /** Every writer's ids in its commit order, one writer after the other. */
    List<String> committed() {
      List<String> all = new ArrayList<>();
      for (List<String> mine : committed) {
        synchronized (mine) {
          all.addAll(mine);
        }
      }
      return all;
    }

    Set<String> uncertain() {
      synchronized (uncertain) {
        return new HashSet<>(uncertain);
      }
    }

    Map<String, byte[]> payloads() {
      synchronized (payloads) {
        return new HashMap<>(payloads);
      }
    }

    int failures() {
      return failures;
    }
  }
}
