package io.outboxkit.patterns.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.outboxkit.patterns.PatternsSchema;
import io.outboxkit.testing.TestInfra;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The reconciler against a real PostgreSQL: a source table ("truth", readings per key and time) and
 * a derived table ("derived", their sum per key and hour) as an additive read model keeps it.
 */
class ReconcilerIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static final Instant NOW = Instant.parse("2025-03-10T10:02:00Z");
  static final Instant H7 = Instant.parse("2025-03-10T07:00:00Z");
  static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  // Keys as real data has them: umlauts, emoji, CR/LF, 255 characters.
  static final List<String> KEYS =
      List.of("zähler-Ü-1", "meter 🔌 2", "line\r\nbreak", "k".repeat(255), "plain-5");

  record Sum(long n, long count) {}

  static Jdbi jdbi;

  /** Sums per (key, hour); repairs count their calls per key, to prove none is done twice. */
  static final class Sums implements Reconciliation<Sum> {
    volatile String poison;
    volatile boolean sourceDown;

    @Override
    public Map<String, Sum> expected(Window w) {
      if (sourceDown) {
        throw new IllegalStateException("source of truth unreachable (test)");
      }
      return sums(jdbi, "truth", w);
    }

    @Override
    public Map<String, Sum> actual(Handle h, Window w) {
      return sums(h, "derived", w);
    }

    @Override
    public void repair(Handle h, Window w, String key, Sum expected) {
      if (key.equals(poison)) {
        throw new IllegalArgumentException("cannot repair " + key + " (test)");
      }
      h.execute("INSERT INTO repair_log (k, window_start) VALUES (?, ?)", key, utc(w.start()));
      if (expected == null) {
        h.execute("DELETE FROM derived WHERE k = ? AND hour = ?", key, utc(w.start()));
      } else {
        h.execute(
            "INSERT INTO derived (k, hour, n, count) VALUES (?, ?, ?, ?) ON CONFLICT (k, hour)"
                + " DO UPDATE SET n = excluded.n, count = excluded.count",
            key,
            utc(w.start()),
            expected.n(),
            expected.count());
      }
    }
  }

  static Map<String, Sum> sums(Jdbi j, String table, Window w) {
    return j.withHandle(h -> sums(h, table, w));
  }

  static Map<String, Sum> sums(Handle h, String table, Window w) {
    String sql =
        table.equals("truth")
            ? "SELECT k, sum(n), count(*) FROM truth WHERE t >= :s AND t < :e GROUP BY k"
            : "SELECT k, n, count FROM derived WHERE hour >= :s AND hour < :e";
    Map<String, Sum> map = new HashMap<>();
    h.createQuery(sql)
        .bind("s", utc(w.start()))
        .bind("e", utc(w.end()))
        .map((rs, ctx) -> Map.entry(rs.getString(1), new Sum(rs.getLong(2), rs.getLong(3))))
        .forEach(e -> map.put(e.getKey(), e.getValue()));
    return map;
  }

  static OffsetDateTime utc(Instant t) {
    return t.atOffset(ZoneOffset.UTC);
  }

  @BeforeAll
  static void schema() {
    jdbi = infra.jdbi();
    PatternsSchema.migrateReconciler(infra.dataSource(), "public");
    PatternsSchema.migrateReconciler(infra.dataSource(), "public"); // idempotent
    jdbi.useHandle(
        h -> {
          h.execute("CREATE TABLE truth (k text NOT NULL, t timestamptz NOT NULL, n bigint)");
          h.execute(
              "CREATE TABLE derived (k text NOT NULL, hour timestamptz NOT NULL, n bigint,"
                  + " count bigint, PRIMARY KEY (k, hour))");
          h.execute("CREATE TABLE repair_log (k text, window_start timestamptz)");
        });
  }

  /** Three closed hours (07, 08, 09) and the open one (10), every key in each, derived = truth. */
  @BeforeEach
  void data() {
    jdbi.useHandle(
        h -> {
          h.execute("TRUNCATE truth, derived, repair_log, reconcile_drift, reconcile_run");
          for (int hour = 0; hour < 4; hour++) {
            for (String k : KEYS) {
              for (int m = 0; m < 60; m += 15) {
                Instant t = H7.plus(Duration.ofHours(hour)).plus(Duration.ofMinutes(m));
                h.execute("INSERT INTO truth VALUES (?, ?, ?)", k, utc(t), hour * 100 + m);
              }
            }
          }
          h.execute(
              "INSERT INTO derived SELECT k, date_trunc('hour', t), sum(n), count(*) FROM truth"
                  + " GROUP BY 1, 2");
        });
  }

  Reconciler.Builder builder(Sums sums) {
    return Reconciler.builder()
        .name("sums")
        .jdbi(jdbi)
        .reconciliation(sums)
        .window(Duration.ofHours(1))
        .settle(Duration.ofMinutes(1))
        .lookback(Duration.ofHours(3))
        .batchSize(2)
        .clock(CLOCK);
  }

  /** Alters, deletes and adds derived rows: three drifts in closed hours, one in the open hour. */
  static void corrupt() {
    jdbi.useHandle(
        h -> {
          h.execute(
              "UPDATE derived SET n = n + 7 WHERE k = ? AND hour = ?",
              KEYS.get(0),
              utc(H7.plusSeconds(3600)));
          h.execute("DELETE FROM derived WHERE k = ? AND hour = ?", KEYS.get(2), utc(H7));
          h.execute("INSERT INTO derived VALUES ('ghost 👻', ?, 1, 1)", utc(H7.plusSeconds(7200)));
          h.execute(
              "UPDATE derived SET n = 0 WHERE k = ? AND hour = ?",
              KEYS.get(3),
              utc(H7.plusSeconds(3 * 3600)));
        });
  }

  @Test
  void findsRecordsAndRepairsEveryDriftOfTheClosedWindowsThenFindsNothing() {
    corrupt();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Reconciler reconciler = builder(new Sums()).meterRegistry(registry).build();

    ReconcileRun run = reconciler.runOnce();
    assertThat(run.windows()).isEqualTo(3);
    assertThat(run.keysCompared()).isEqualTo(3 * KEYS.size() + 1);
    assertThat(run.driftsFound()).isEqualTo(3);
    assertThat(run.driftsRepaired()).isEqualTo(3);
    assertThat(run.driftsFailed()).isZero();
    assertThat(run.error()).isNull();
    assertThat(run.finishedAt()).isEqualTo(NOW);

    List<Drift> drifts = reconciler.drifts(10);
    assertThat(drifts)
        .extracting(Drift::key, Drift::windowStart, Drift::status)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple(KEYS.get(0), H7.plusSeconds(3600), "REPAIRED"),
            org.assertj.core.groups.Tuple.tuple(KEYS.get(2), H7, "REPAIRED"),
            org.assertj.core.groups.Tuple.tuple("ghost 👻", H7.plusSeconds(7200), "REPAIRED"));
    Drift altered = drifts.stream().filter(d -> d.key().equals(KEYS.get(0))).findFirst().get();
    Sum truth =
        sums(jdbi, "truth", new Window(H7.plusSeconds(3600), H7.plusSeconds(7200)))
            .get(KEYS.get(0));
    assertThat(altered.expected()).isEqualTo(truth.toString());
    assertThat(altered.actual()).isEqualTo(new Sum(truth.n() + 7, truth.count()).toString());
    assertThat(altered.foundAt()).isEqualTo(NOW);
    assertThat(altered.windowEnd()).isEqualTo(H7.plusSeconds(7200));
    assertThat(drifts.stream().filter(d -> d.key().equals(KEYS.get(2))).findFirst().get().actual())
        .isNull();
    assertThat(drifts.stream().filter(d -> d.key().equals("ghost 👻")).findFirst().get().expected())
        .isNull();

    // Closed hours now equal the truth; the open hour keeps its drift until it closes.
    for (int hour = 0; hour < 3; hour++) {
      Window w = new Window(H7.plusSeconds(hour * 3600L), H7.plusSeconds((hour + 1) * 3600L));
      assertThat(sums(jdbi, "derived", w)).isEqualTo(sums(jdbi, "truth", w));
    }
    Window open = new Window(H7.plusSeconds(3 * 3600), H7.plusSeconds(4 * 3600));
    assertThat(sums(jdbi, "derived", open)).isNotEqualTo(sums(jdbi, "truth", open));

    assertThat(
            registry
                .counter("outboxkit.reconcile.drifts", "reconciliation", "sums", "outcome", "found")
                .count())
        .isEqualTo(3);
    assertThat(
            registry
                .counter(
                    "outboxkit.reconcile.drifts", "reconciliation", "sums", "outcome", "repaired")
                .count())
        .isEqualTo(3);
    assertThat(
            registry
                .timer("outboxkit.reconcile.runs", "reconciliation", "sums", "outcome", "completed")
                .count())
        .isEqualTo(1);

    ReconcileRun second = reconciler.runOnce();
    assertThat(second.driftsFound()).isZero();
    assertThat(second.keysCompared()).isEqualTo(3 * KEYS.size());
    assertThat(reconciler.runs(5))
        .extracting(ReconcileRun::id)
        .containsExactly(second.id(), run.id());
    assertThat(repairs()).isEqualTo(3);
  }

  @Test
  void severalInstancesAtOnceRepairEachKeyOnce() throws Exception {
    corrupt();
    int instances = 4;
    ExecutorService pool = Executors.newFixedThreadPool(instances);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<ReconcileRun>> runs = new ArrayList<>();
      for (int i = 0; i < instances; i++) {
        Reconciler r = builder(new Sums()).instance("instance-" + i).build();
        runs.add(
            pool.submit(
                () -> {
                  go.await();
                  return r.runOnce();
                }));
      }
      go.countDown();
      int found = 0;
      for (Future<ReconcileRun> f : runs) {
        found += f.get().driftsFound();
      }
      assertThat(found).isEqualTo(3);
    } finally {
      pool.shutdownNow();
    }
    assertThat(repairs()).isEqualTo(3);
    assertThat(count("SELECT count(*) FROM reconcile_drift")).isEqualTo(3);
  }

  @Test
  void aRepairThatFailsIsRecordedAndTriedAgainWhileTheOthersAreRepaired() {
    corrupt();
    Sums sums = new Sums();
    sums.poison = KEYS.get(2);
    Reconciler reconciler = builder(sums).build();

    ReconcileRun run = reconciler.runOnce();
    assertThat(run.driftsFound()).isEqualTo(3);
    assertThat(run.driftsRepaired()).isEqualTo(2);
    assertThat(run.driftsFailed()).isEqualTo(1);
    Drift failed =
        reconciler.drifts(10).stream().filter(d -> d.status().equals("FAILED")).findFirst().get();
    assertThat(failed.key()).isEqualTo(KEYS.get(2));
    assertThat(failed.error()).contains("cannot repair");

    sums.poison = null;
    ReconcileRun again = reconciler.runOnce();
    assertThat(again.driftsFound()).isEqualTo(1);
    assertThat(again.driftsRepaired()).isEqualTo(1);
    assertThat(reconciler.runOnce().driftsFound()).isZero();
  }

  @Test
  void aSourceThatDoesNotAnswerFailsTheRunWithoutTouchingTheDerivedStore() {
    corrupt();
    Sums sums = new Sums();
    sums.sourceDown = true;
    Reconciler reconciler = builder(sums).build();

    ReconcileRun run = reconciler.runOnce();
    assertThat(run.windows()).isZero();
    assertThat(run.driftsFound()).isZero();
    assertThat(run.error()).contains("source of truth unreachable").contains(H7.toString());
    assertThat(repairs()).isZero();

    sums.sourceDown = false;
    assertThat(reconciler.runOnce().driftsRepaired()).isEqualTo(3);
  }

  @Test
  void theScheduleRunsByItself() {
    corrupt();
    try (Reconciler reconciler =
        builder(new Sums()).interval(Duration.ofMillis(200)).build().start()) {
      org.awaitility.Awaitility.await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> reconciler.runs(10).size() >= 2);
    }
    assertThat(repairs()).isEqualTo(3);
  }

  static long count(String sql) {
    return jdbi.withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
  }

  static long repairs() {
    return jdbi.withHandle(
        h -> h.createQuery("SELECT count(*) FROM repair_log").mapTo(Long.class).one());
  }
}
