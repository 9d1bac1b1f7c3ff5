package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.HeaderValues;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxEvent;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxSchema;
import io.outboxkit.Payload;
import io.outboxkit.TableName;
import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The WAL-message outbox mode through the real relay: events written as transactional logical
 * decoding messages (from Java, one or many per message, and from SQL with {@code outboxkit_emit})
 * by concurrent writers whose transactions interleave and sometimes roll back, while the relay is
 * killed -9 again and again: every committed event is in the stream exactly once, in commit order
 * per aggregate, with its values intact; rolled-back ones never.
 */
class WalMessageModeIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static final Outbox messages = Outbox.builder().mode(Outbox.Mode.WAL_MESSAGE).build();

  @BeforeAll
  static void migrate() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
  }

  @Test
  void messagesFromJavaAndSqlArriveOnceThroughKillsWithValuesIntact() throws Exception {
    String stream = infra.streamName() + "_MSG";
    String prefix = stream.toLowerCase();
    Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream, prefix);
    Connection nc = infra.nats();
    new RelayProcess(env).start().awaitStreaming(Duration.ofSeconds(90)).kill();

    List<String> committed = Collections.synchronizedList(new ArrayList<>());
    Set<String> uncertain = Collections.synchronizedSet(new HashSet<>());
    Set<String> rolledBack = Collections.synchronizedSet(new HashSet<>());
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService writers = Executors.newFixedThreadPool(4);
    List<Future<?>> running = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      int writer = w;
      running.add(
          writers.submit(
              () -> {
                int n = 0;
                while (!stop.get()) {
                  write(writer, n++, committed, uncertain, rolledBack);
                }
                return null;
              }));
    }
    try {
      RelayProcess.killWhilePublishing(env, nc, stream, 4, 100, 600);
    } finally {
      stop.set(true);
      for (Future<?> f : running) {
        f.get();
      }
      writers.shutdown();
    }
    // SQL writers in other languages: the function the migration ships.
    String sqlId =
        infra
            .jdbi()
            .inTransaction(
                h ->
                    h.select(
                            "SELECT outboxkit_emit('Zähler', 'Straße 7 🏠', 'Ablesung\r\nneu',"
                                + " convert_to('{\"kwh\":1}', 'UTF8'), '{\"note\":\"grüß dich\"}')::text")
                        .mapTo(String.class)
                        .one());
    committed.add(sqlId);

    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      List<StreamContents.Stored> stored =
          Delivery.assertExactlyOnce(nc, stream, committed, uncertain, Duration.ofMinutes(3));
      assertThat(stored).noneMatch(s -> rolledBack.contains(s.msgId()));
      StreamContents.Stored fromSql =
          stored.stream().filter(s -> s.msgId().equals(sqlId)).findFirst().orElseThrow();
      assertThat(HeaderValues.decode(fromSql.header(OutboxHeaders.AGGREGATE_TYPE)))
          .isEqualTo("Zähler");
      assertThat(HeaderValues.decode(fromSql.header(OutboxHeaders.AGGREGATE_ID)))
          .isEqualTo("Straße 7 🏠");
      assertThat(HeaderValues.decode(fromSql.header(OutboxHeaders.EVENT_TYPE)))
          .isEqualTo("Ablesung\r\nneu");
      assertThat(HeaderValues.decode(fromSql.header("note"))).isEqualTo("grüß dich");
      assertThat(new String(fromSql.data(), StandardCharsets.UTF_8)).isEqualTo("{\"kwh\":1}");
    }
  }

  /**
   * A batch of large envelopes (500 events each, as {@code writeAll} makes) holds many events per
   * record: with the heap the launcher ships ({@code -Xmx128m}), the relay bounds Debezium's queue
   * in bytes and publishes a batch in chunks, so a backlog of them goes through without running out
   * of memory (before: {@code OutOfMemoryError} after the first few envelopes).
   */
  @Test
  void aBacklogOfLargeEnvelopesFitsTheShippedHeap() throws Exception {
    String stream = infra.streamName() + "_BIG";
    String prefix = stream.toLowerCase();
    Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream, prefix);
    env.put("JAVA_TOOL_OPTIONS", "-Xmx128m -XX:+UseSerialGC");
    Connection nc = infra.nats();
    int perEnvelope = 500;
    int envelopes = 160;
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      ExecutorService writers = Executors.newFixedThreadPool(2);
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        int writer = w;
        done.add(
            writers.submit(
                () -> {
                  for (int n = writer; n < envelopes; n += 2) {
                    List<OutboxEvent> batch = new ArrayList<>(perEnvelope);
                    for (int i = 0; i < perEnvelope; i++) {
                      batch.add(bigEvent(writer, n, i));
                    }
                    infra.jdbi().useTransaction(h -> messages.writeAll(h, batch));
                  }
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      writers.shutdown();
      long expected = (long) perEnvelope * envelopes;
      StreamContents.awaitCount(nc, stream, expected, Duration.ofMinutes(4));
      assertThat(relay.isAlive()).as(relay.logTail()).isTrue();
      assertThat(relay.log()).doesNotContain("OutOfMemoryError");
      // Nothing more comes (no replays past JetStream's duplicate window, nothing twice).
      Sentinel.await(nc, stream, prefix, Sentinel.write(infra.dataSource()), Duration.ofMinutes(1));
      assertThat(StreamContents.count(nc, stream)).isEqualTo(expected + 1);
    }
  }

  private static OutboxEvent bigEvent(int writer, int n, int i) {
    return OutboxEvent.of(
        "Zähler",
        "zähler-" + writer + "-" + (i % 50),
        "Ablesung",
        Payload.rawJson(
            "{\"n\":"
                + n
                + ",\"i\":"
                + i
                + ",\"text\":\"Grüße aus der Umspannstation 🏭, Leitung\\r\\nNord "
                + "x".repeat(200)
                + "\"}"));
  }

  /** One transaction: one event, several in one message, or several messages; some roll back. */
  private static void write(
      int writer, int n, List<String> committed, Set<String> uncertain, Set<String> rolledBack) {
    String aggregate = "wäsche-" + writer + "-" + (n % 7);
    int shape = ThreadLocalRandom.current().nextInt(10);
    List<String> ids = new ArrayList<>();
    try {
      infra
          .jdbi()
          .useTransaction(
              h -> {
                h.execute("SELECT 1");
                if (shape < 5) {
                  ids.add(messages.write(h, event(aggregate, n, 0)).toString());
                } else if (shape < 8) {
                  List<OutboxEvent> batch = new ArrayList<>();
                  for (int i = 0; i < 1 + n % 5; i++) {
                    batch.add(event(aggregate, n, i));
                  }
                  messages.writeAll(h, batch).forEach(id -> ids.add(id.toString()));
                } else {
                  ids.add(messages.write(h, event(aggregate, n, 0)).toString());
                  ids.add(messages.write(h, event(aggregate, n, 1)).toString());
                }
                if (shape == 9) {
                  throw new RolledBack();
                }
                uncertain.addAll(ids);
              });
      uncertain.removeAll(ids);
      committed.addAll(ids);
    } catch (RolledBack e) {
      rolledBack.addAll(ids);
    } catch (RuntimeException e) {
      uncertain.addAll(ids);
    }
  }

  private static OutboxEvent event(String aggregate, int n, int i) {
    return OutboxEvent.of(
            "Zähler",
            aggregate,
            "Ablesung",
            Payload.rawJson(
                "{\"n\":" + n + ",\"i\":" + i + ",\"u\":\"" + UUID.randomUUID() + "\"}"))
        .withHeader("trace", "ü-" + n);
  }

  private static final class RolledBack extends RuntimeException {
    private static final long serialVersionUID = 1L;
  }
}
