package io.outboxkit.patterns.rebuild;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.UuidV7;
import io.outboxkit.consumer.EventHandler;
import io.outboxkit.consumer.OutboxConsumer;
import io.outboxkit.testing.TestInfra;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The rebuilder against real JetStream and PostgreSQL, with a live consumer feeding a tally per
 * key: a rebuild while events keep coming replaces a corrupted model with one equal to what every
 * event adds up to, reads of the tally never go back; a rebuild whose handler fails on an event the
 * live model had fails at the swap and leaves the live model and its consumer as they were.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RebuilderIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  private static final List<String> KEYS =
      List.of("Zürich", "Łódź ⚡", "emoji 🌩️", "line 1\r\nline 2", "plain", "k".repeat(255));

  /** Adds an event's value to its key; fails on "poison" only while rebuilding. */
  private static final EventHandler TALLY =
      (h, e) -> {
        String[] kv = e.payloadAsString().split("\u0001");
        if (kv[0].equals("poison") && rebuilding(h)) {
          throw new IllegalStateException("this projection version cannot read poison");
        }
        h.execute(
            "INSERT INTO tally AS t (k, n, total) VALUES (?, 1, ?) ON CONFLICT (k) DO UPDATE"
                + " SET n = t.n + 1, total = t.total + excluded.total",
            kv[0],
            new BigDecimal(kv[1]));
      };

  static Jdbi jdbi;
  static Connection nats;
  static JetStream js;
  static String subject;
  static final Map<String, BigDecimal> totals = new TreeMap<>();
  static final Map<String, Long> counts = new TreeMap<>();
  static OutboxConsumer live;
  static Rebuilder rebuilder;

  @BeforeAll
  static void start() throws Exception {
    jdbi = infra.jdbi();
    nats = infra.nats();
    js = nats.jetStream();
    subject = infra.prefix() + ".ev";
    nats.jetStreamManagement()
        .addStream(
            StreamConfiguration.builder()
                .name(infra.streamName())
                .subjects(infra.prefix() + ".>")
                .storageType(StorageType.File)
                .build());
    OutboxSchema.migrateInbox(infra.dataSource(), TableName.DEFAULT_INBOX);
    jdbi.useHandle(
        h ->
            h.execute(
                "CREATE TABLE tally (k text PRIMARY KEY, n bigint NOT NULL,"
                    + " total numeric(18,3) NOT NULL)"));
    resume();
    rebuilder =
        Rebuilder.builder()
            .model("tally")
            .tables("tally")
            .handler(TALLY)
            .liveConsumer("live")
            .pauseLive(RebuilderIT::pause)
            .resumeLive(RebuilderIT::resume)
            .jdbi(jdbi)
            .connection(nats)
            .stream(infra.streamName())
            .filterSubject(subject)
            .deadLetterSubject(infra.prefix() + ".dlq.rebuild")
            .handoverLag(50)
            .pollInterval(Duration.ofMillis(50))
            .build();
  }

  @AfterAll
  static void stop() {
    if (rebuilder != null) {
      rebuilder.close();
    }
    pause();
  }

  @Test
  @Order(1)
  void aRebuildUnderLoadReplacesACorruptedModelWithOneEqualToTheEvents() throws Exception {
    for (int i = 0; i < 1200; i++) {
      publish(KEYS.get(i % KEYS.size()), new BigDecimal(i % 97).movePointLeft(2));
    }
    awaitTallyEqualsEvents();
    jdbi.useHandle(h -> h.execute("UPDATE tally SET total = total + 5 WHERE k = ?", KEYS.get(0)));
    Map<String, Object> quiet = row(KEYS.get(1));

    AtomicBoolean stop = new AtomicBoolean();
    Queue<String> problems = new ConcurrentLinkedQueue<>();
    Thread publisher =
        new Thread(
            () -> {
              for (int i = 0; !stop.get(); i++) {
                try {
                  publish("new " + (i % 5), BigDecimal.ONE);
                  // Pacing, ~100 events/s: a rebuild hands over only once it is within
                  // handoverLag (50) of the end, so the load must stay below what its one
                  // consumer applies (one transaction each); at 2 ms on a fast machine it did not.
                  Thread.sleep(10);
                } catch (Exception e) {
                  problems.add("publish: " + e);
                }
              }
            });
    Thread reader =
        new Thread(
            () -> {
              long last = 0;
              while (!stop.get()) {
                long n =
                    jdbi.withHandle(
                        h -> h.select("SELECT sum(n) FROM tally").mapTo(Long.class).one());
                Map<String, Object> q = row(KEYS.get(1));
                if (n < last || !q.equals(quiet)) {
                  problems.add("read " + n + " after " + last + ", " + q + " instead of " + quiet);
                }
                last = n;
              }
            });
    publisher.start();
    reader.start();
    try {
      rebuilder.start();
      await().atMost(Duration.ofMinutes(2)).until(() -> rebuilder.progress().phase().ended());
    } finally {
      stop.set(true);
      publisher.join();
      reader.join();
    }
    RebuildProgress done = rebuilder.progress();
    assertThat(done.phase()).as(done.toString()).isEqualTo(RebuildProgress.Phase.DONE);
    assertThat(done.eventsApplied()).isGreaterThanOrEqualTo(1200);
    assertThat(done.streamPosition()).isPositive().isLessThanOrEqualTo(done.streamEnd());
    assertThat(problems).isEmpty();
    awaitTallyEqualsEvents(); // the corruption is gone, the events after the swap are there once
    assertThat(schemas()).isEmpty();
    assertThat(
            nats.jetStreamManagement().getConsumerNames(infra.streamName()).stream()
                .filter(c -> c.startsWith("live-rebuild-")))
        .isEmpty();
  }

  @Test
  @Order(2)
  void aRebuildThatCannotApplyAnEventTheLiveModelHadFailsAndLeavesTheLiveModel() throws Exception {
    publish("poison", BigDecimal.TEN);
    awaitTallyEqualsEvents();
    jdbi.useHandle(h -> h.execute("UPDATE tally SET total = total + 5 WHERE k = ?", KEYS.get(0)));
    List<Map<String, Object>> before = all();
    rebuilder.start();
    await().atMost(Duration.ofMinutes(2)).until(() -> rebuilder.progress().phase().ended());
    RebuildProgress failed = rebuilder.progress();
    assertThat(failed.phase()).isEqualTo(RebuildProgress.Phase.FAILED);
    assertThat(failed.error())
        .contains("1 events applied to the live model 'tally' were not applied");
    assertThat(all()).isEqualTo(before);
    assertThat(schemas()).isEmpty();
    // The live consumer was resumed: it applies what comes next.
    jdbi.useHandle(h -> h.execute("UPDATE tally SET total = total - 5 WHERE k = ?", KEYS.get(0)));
    publish("after", BigDecimal.ONE);
    awaitTallyEqualsEvents();
  }

  private static boolean rebuilding(Handle h) {
    return h.select("SELECT current_setting('search_path')")
        .mapTo(String.class)
        .one()
        .contains("outboxkit_rebuild_");
  }

  private static synchronized void resume() {
    if (live == null) {
      live =
          OutboxConsumer.builder().name("live").connection(nats).jdbi(jdbi).stream(
                  infra.streamName())
              .filterSubject(subject)
              .handler(TALLY)
              .deadLetterSubject(infra.prefix() + ".dlq.live")
              .build()
              .start();
    }
  }

  private static synchronized void pause() {
    if (live != null) {
      live.close();
      live = null;
    }
  }

  private static synchronized void publish(String key, BigDecimal value) throws Exception {
    Headers headers = new Headers();
    headers.put(OutboxHeaders.MSG_ID, UuidV7.next().toString());
    headers.put(OutboxHeaders.AGGREGATE_TYPE, "tally");
    headers.put(OutboxHeaders.AGGREGATE_ID, "k");
    headers.put(OutboxHeaders.EVENT_TYPE, "Added");
    js.publish(
        NatsMessage.builder()
            .subject(subject)
            .headers(headers)
            .data((key + "\u0001" + value.toPlainString()).getBytes(StandardCharsets.UTF_8))
            .build());
    totals.merge(key, value, BigDecimal::add);
    counts.merge(key, 1L, Long::sum);
  }

  private static void awaitTallyEqualsEvents() {
    await()
        .atMost(Duration.ofMinutes(2))
        .untilAsserted(
            () -> {
              Map<String, BigDecimal> t = new TreeMap<>();
              Map<String, Long> n = new TreeMap<>();
              jdbi.useHandle(
                  h ->
                      h.createQuery("SELECT k, n, total FROM tally")
                          .map(
                              (rs, ctx) -> {
                                t.put(rs.getString(1), rs.getBigDecimal(3));
                                n.put(rs.getString(1), rs.getLong(2));
                                return null;
                              })
                          .list());
              synchronized (RebuilderIT.class) {
                assertThat(n).isEqualTo(counts);
                assertThat(t.keySet()).isEqualTo(totals.keySet());
                t.forEach((k, v) -> assertThat(v).as(k).isEqualByComparingTo(totals.get(k)));
              }
            });
  }

  private static List<Map<String, Object>> all() {
    return jdbi.withHandle(h -> h.createQuery("SELECT * FROM tally ORDER BY k").mapToMap().list());
  }

  private static Map<String, Object> row(String key) {
    return jdbi.withHandle(
        h -> h.createQuery("SELECT * FROM tally WHERE k = ?").bind(0, key).mapToMap().one());
  }

  private static List<String> schemas() {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'outboxkit\\_re%'")
                .mapTo(String.class)
                .list());
  }
}
