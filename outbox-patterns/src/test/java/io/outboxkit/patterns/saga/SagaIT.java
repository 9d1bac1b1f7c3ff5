package io.outboxkit.patterns.saga;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.Outbox;
import io.outboxkit.OutboxEvent;
import io.outboxkit.OutboxException;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.consumer.InboundEvent;
import io.outboxkit.patterns.PatternsSchema;
import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The saga state machine against a real PostgreSQL. A saga "signup" (PENDING → ACTIVE on Accepted,
 * → REJECTED on Rejected, → TIMED_OUT on its deadline; a late Accepted sends one Cancel) is driven
 * by replies handed straight to {@link Saga#replies()} (every one with a new message id: no inbox
 * stands between them and the saga) and by deadlines made due by hand. For hundreds of random
 * delivery orders with duplicates: the outcome is decided by the first decisive event alone,
 * duplicates anywhere change nothing, and at most one compensation is sent.
 */
class SagaIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static final String ACCEPTED = "Accepted";
  static final String REJECTED = "Rejected";
  static final String DEADLINE = "deadline";

  static Jdbi jdbi;
  static Saga saga;
  static final AtomicInteger ids = new AtomicInteger();

  record Data(String name, int n) {}

  @BeforeAll
  static void setUp() {
    jdbi = infra.jdbi();
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    PatternsSchema.migrateSagas(infra.dataSource(), "public");
    PatternsSchema.migrateSagas(infra.dataSource(), "public"); // idempotent
    jdbi.useHandle(
        h -> h.execute("CREATE TABLE thing (id text PRIMARY KEY, status text NOT NULL)"));
    saga = signup(Saga.builder()).build();
  }

  static Saga.Builder signup(Saga.Builder b) {
    return b.type("signup")
        .jdbi(jdbi)
        .outbox(Outbox.builder().build())
        .initialState("PENDING")
        .timeout(Duration.ofHours(1))
        .on("PENDING", ACCEPTED, ctx -> status(ctx, "ACTIVE"))
        .on("PENDING", REJECTED, ctx -> status(ctx, "REJECTED"))
        .onDeadline("PENDING", ctx -> status(ctx, "TIMED_OUT"))
        .onLate(
            ACCEPTED,
            ctx -> {
              ctx.emit(OutboxEvent.of("signup", ctx.id(), "Cancel", ctx.data(Data.class)));
              ctx.note("late acceptance in " + ctx.state() + ": cancelled");
            });
  }

  static void status(SagaContext ctx, String status) {
    int n =
        ctx.handle()
            .createUpdate("UPDATE thing SET status = :s WHERE id = :id AND status = 'PENDING'")
            .bind("s", status)
            .bind("id", ctx.id())
            .execute();
    if (n != 1) {
      throw new IllegalStateException(ctx.id() + " is not PENDING");
    }
    ctx.moveTo(status);
  }

  static String begin() {
    // Real-world ids: umlauts, emoji, CR/LF.
    String id = "zähler 🔌\r\n" + ids.incrementAndGet();
    jdbi.useTransaction(
        h -> {
          h.execute("INSERT INTO thing (id, status) VALUES (?, 'PENDING')", id);
          saga.begin(
              h,
              id,
              new Data("Müller 🏠", 7),
              OutboxEvent.of("signup", id, "Requested", Map.of("id", id)));
        });
    return id;
  }

  static void deliver(String id, String what) {
    if (what.equals(DEADLINE)) {
      // The deadline passes (it exists only while the saga is in a state that has one).
      jdbi.useHandle(
          h ->
              h.execute(
                  "UPDATE saga SET deadline_at = now() - interval '1 second'"
                      + " WHERE saga_type = 'signup' AND saga_id = ? AND deadline_at IS NOT NULL",
                  id));
      saga.fireDueDeadlines();
      return;
    }
    InboundEvent event =
        new InboundEvent(
            UUID.randomUUID().toString(),
            "signup",
            id,
            what,
            Map.of(),
            "{}".getBytes(StandardCharsets.UTF_8),
            new InboundEvent.Metadata("x.signup." + what, "X", 1, 1, Instant.now(), null));
    try {
      jdbi.useTransaction(h -> saga.replies().handle(h, event));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String thing(String id) {
    return jdbi.withHandle(
        h -> h.select("SELECT status FROM thing WHERE id = ?", id).mapTo(String.class).one());
  }

  static long outbox(String id, String type) {
    return jdbi.withHandle(
        h ->
            h.select(
                    "SELECT count(*) FROM outbox WHERE aggregate_id = ? AND event_type = ?",
                    id,
                    type)
                .mapTo(Long.class)
                .one());
  }

  /** What the first decisive event decides. */
  static String expected(List<String> order) {
    for (String e : order) {
      switch (e) {
        case ACCEPTED:
          return "ACTIVE";
        case REJECTED:
          return "REJECTED";
        case DEADLINE:
          return "TIMED_OUT";
        default:
          throw new IllegalArgumentException(e);
      }
    }
    return "PENDING";
  }

  @Test
  void anyOrderWithDuplicatesEndsAsTheFirstDecisiveEventSays() {
    Random random = new Random(20261201L);
    for (int run = 0; run < 100; run++) {
      List<String> base = new ArrayList<>();
      for (String e : List.of(ACCEPTED, REJECTED, DEADLINE)) {
        if (random.nextInt(4) > 0) {
          base.add(e);
        }
      }
      Collections.shuffle(base, random);
      // The same order, then with every event repeated 1-3 times at random later positions.
      List<String> withDuplicates = new ArrayList<>(base);
      for (String e : base) {
        int copies = 1 + random.nextInt(3);
        for (int c = 0; c < copies; c++) {
          int first = withDuplicates.indexOf(e);
          withDuplicates.add(first + 1 + random.nextInt(withDuplicates.size() - first), e);
        }
      }
      String plain = begin();
      base.forEach(e -> deliver(plain, e));
      String dup = begin();
      withDuplicates.forEach(e -> deliver(dup, e));

      String want = expected(base);
      String why = base + " / " + withDuplicates;
      for (String id : List.of(plain, dup)) {
        SagaState s = saga.find(id).orElseThrow();
        assertThat(s.state()).as(why).isEqualTo(want);
        assertThat(thing(id)).as(why).isEqualTo(want);
        assertThat(s.deadline() == null).as(why).isEqualTo(!want.equals("PENDING"));
        assertThat(outbox(id, "Requested")).isEqualTo(1);
        long cancels = base.contains(ACCEPTED) && !want.equals("ACTIVE") ? 1 : 0;
        assertThat(outbox(id, "Cancel")).as(why).isEqualTo(cancels);
        assertThat(s.steps().stream().filter(t -> t.outcome() == SagaState.Outcome.APPLIED))
            .as(why)
            .hasSize(want.equals("PENDING") ? 1 : 2);
      }
      // Duplicates are not even recorded: both sagas took the same steps.
      assertThat(names(dup)).as(why).isEqualTo(names(plain));
    }
  }

  static List<String> names(String id) {
    return saga.find(id).orElseThrow().steps().stream()
        .map(t -> t.kind() + " " + t.name() + " " + t.outcome() + " " + t.toState())
        .toList();
  }

  @Test
  void acceptanceRacingTheDeadlineIsDecidedOnceAndALateOneCompensated() throws Exception {
    List<String> sagas = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      sagas.add(begin());
    }
    jdbi.useHandle(
        h ->
            h.execute(
                "UPDATE saga SET deadline_at = now() - interval '1 second'"
                    + " WHERE saga_type = 'signup' AND saga_id = ANY(?)",
                (Object) sagas.toArray(new String[0])));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<?>> done = new ArrayList<>();
      done.add(
          pool.submit(
              () -> {
                go.await();
                sagas.forEach(id -> deliver(id, ACCEPTED));
                return null;
              }));
      for (int t = 0; t < 3; t++) {
        // Three schedulers (as three instances would): each due saga is fired by one of them.
        Saga other = signup(Saga.builder()).batchSize(7).build();
        done.add(
            pool.submit(
                () -> {
                  go.await();
                  while (other.fireDueDeadlines() > 0) {
                    Thread.onSpinWait();
                  }
                  return null;
                }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    saga.fireDueDeadlines();
    for (String id : sagas) {
      SagaState s = saga.find(id).orElseThrow();
      assertThat(s.state()).isIn("ACTIVE", "TIMED_OUT").isEqualTo(thing(id));
      assertThat(s.steps().stream().filter(t -> t.kind() == SagaState.Kind.DEADLINE))
          .hasSizeLessThanOrEqualTo(1);
      assertThat(outbox(id, "Cancel")).isEqualTo(s.state().equals("TIMED_OUT") ? 1 : 0);
      assertThat(s.deadline()).isNull();
    }
  }

  @Test
  void aStepThatFailsRollsBackAndIsRetried() {
    AtomicInteger failures = new AtomicInteger(2);
    Saga flaky =
        Saga.builder()
            .type("flaky")
            .jdbi(jdbi)
            .outbox(Outbox.builder().build())
            .initialState("WAITING")
            .timeout(Duration.ofMillis(1))
            .onDeadline(
                "WAITING",
                ctx -> {
                  ctx.emit(OutboxEvent.of("flaky", ctx.id(), "GaveUp", Map.of()));
                  if (failures.getAndDecrement() > 0) {
                    throw new IllegalStateException("boom (test)");
                  }
                  ctx.moveTo("GAVE_UP");
                })
            .build();
    jdbi.useTransaction(h -> flaky.begin(h, "f-1", null));
    jdbi.useHandle(h -> h.execute("SELECT pg_sleep(0.01)"));
    assertThat(flaky.fireDueDeadlines()).isZero(); // failed, rolled back
    assertThat(flaky.find("f-1").orElseThrow().state()).isEqualTo("WAITING");
    assertThat(outbox("f-1", "GaveUp")).isZero();
    flaky.fireDueDeadlines();
    assertThat(flaky.fireDueDeadlines()).isEqualTo(1);
    SagaState s = flaky.find("f-1").orElseThrow();
    assertThat(s.state()).isEqualTo("GAVE_UP");
    assertThat(s.data()).isEqualTo("{}");
    assertThat(outbox("f-1", "GaveUp")).isEqualTo(1);
    assertThat(flaky.countByState()).containsEntry("GAVE_UP", 1L);
  }

  @Test
  void misuseIsRefusedWithTheFix() {
    assertThatThrownBy(() -> jdbi.useHandle(h -> saga.begin(h, "x", null)))
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("inside a transaction");
    String id = begin();
    assertThatThrownBy(() -> jdbi.useTransaction(h -> saga.begin(h, id, null)))
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("exists already");
    assertThatThrownBy(
            () ->
                Saga.builder()
                    .type("")
                    .initialState("A")
                    .on("A", "E", ctx -> {})
                    .on("A", "E", ctx -> {})
                    .build())
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("type is ''")
        .hasMessageContaining("jdbi is missing")
        .hasMessageContaining("outbox is missing")
        .hasMessageContaining("defined twice");
    // A reply for a saga that does not exist is skipped, not retried forever.
    deliver("no such saga", ACCEPTED);
    assertThat(saga.find("no such saga")).isEmpty();
  }
}
