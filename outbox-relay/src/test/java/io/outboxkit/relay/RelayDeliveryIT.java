package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Every committed row arrives once, in commit order per aggregate; rolled-back rows never do. */
class RelayDeliveryIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static final String SECRET = "s3cr3t-Pa55word-never-logged";
  static RelayProcess relay;
  static String stream;

  @BeforeAll
  static void start() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    stream = infra.streamName();
    java.util.Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream);
    env.put("OUTBOXKIT_RELAY_DATABASE_PASSWORD", SECRET); // trust auth accepts any password
    relay = new RelayProcess(env).start().awaitStreaming(Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() {
    if (relay != null) {
      relay.close();
    }
  }

  @Test
  void tenThousandEventsOfEveryShapeArriveOnceAndRolledBackOnesNever() throws Exception {
    OutboxLoad load = new OutboxLoad(infra.dataSource());
    List<String> rolledBack = new ArrayList<>(load.rolledBack(50));
    List<String> committed = new ArrayList<>();
    committed.addAll(load.singleRows(1000, 0));
    committed.addAll(load.multiRowInserts(20, 100, 1000));
    rolledBack.addAll(load.rolledBack(50));
    committed.addAll(load.copy(2000, 3000));
    committed.addAll(load.oneTransaction(5000, 5000));
    rolledBack.addAll(load.rolledBack(50));
    committed.addAll(load.mixed(1000, 10_000));
    assertThat(committed).hasSizeGreaterThanOrEqualTo(10_000);

    Connection nc = infra.nats();
    StreamContents.awaitCount(nc, stream, committed.size(), Duration.ofMinutes(3));
    // A moment for anything extra (a rolled-back row, a duplicate) that would still come.
    load.singleRows(1, 99_999).forEach(committed::add);
    StreamContents.awaitCount(nc, stream, committed.size(), Duration.ofMinutes(1));
    List<StreamContents.Stored> stored = StreamContents.readAll(nc, stream);

    Set<String> ids = new HashSet<>();
    stored.forEach(s -> ids.add(s.msgId()));
    assertThat(StreamContents.duplicates(stored)).isEmpty();
    assertThat(ids).containsExactlyInAnyOrderElementsOf(committed);
    assertThat(ids).doesNotContainAnyElementsOf(rolledBack);

    // Per aggregate, the stream order is the commit order (one writer: list order).
    Map<String, List<String>> expected = new LinkedHashMap<>();
    for (String id : committed) {
      expected.computeIfAbsent(aggregateOf(stored, id), k -> new ArrayList<>()).add(id);
    }
    assertThat(StreamContents.byAggregate(stored)).isEqualTo(expected);
  }

  @Test
  void payloadHeadersAndSubjectAreCarriedAsWritten() throws Exception {
    infra
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload,"
                        + " headers) VALUES ('0190f0a0-0000-7000-8000-000000000001', 'meter', 'm-1',"
                        + " 'ReadingRecorded', convert_to('{ \"kwh\" : 1.50 }', 'UTF8'),"
                        + " '{\"traceparent\": \"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\","
                        + " \"Content-Type\": \"application/json\"}')"));
    Connection nc = infra.nats();
    StreamContents.Stored s = awaitMessage(nc, "0190f0a0-0000-7000-8000-000000000001");
    assertThat(s.subject()).isEqualTo(infra.prefix() + ".meter.ReadingRecorded");
    assertThat(new String(s.data(), java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo("{ \"kwh\" : 1.50 }");
    assertThat(s.header(OutboxHeaders.AGGREGATE_TYPE)).isEqualTo("meter");
    assertThat(s.header(OutboxHeaders.AGGREGATE_ID)).isEqualTo("m-1");
    assertThat(s.header(OutboxHeaders.EVENT_TYPE)).isEqualTo("ReadingRecorded");
    assertThat(s.header(OutboxHeaders.TRACEPARENT))
        .isEqualTo("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assertThat(Long.parseLong(s.header(OutboxHeaders.COMMIT_TIME)))
        .isCloseTo(
            System.currentTimeMillis() * 1000, org.assertj.core.data.Offset.offset(120_000_000L));

    // Tracing is off by default: a row without trace context gets none invented.
    infra
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type,"
                        + " payload) VALUES ('0190f0a0-0000-7000-8000-000000000002', 'meter',"
                        + " 'm-1', 'ReadingRecorded', convert_to('{}', 'UTF8'))"));
    StreamContents.Stored plain = awaitMessage(nc, "0190f0a0-0000-7000-8000-000000000002");
    assertThat(plain.header(OutboxHeaders.TRACEPARENT)).isNull();
    assertThat(plain.header("tracestate")).isNull();
  }

  @Test
  void logsAreQuietAndHoldNoSecrets() {
    String log = relay.log();
    assertThat(log).doesNotContain(SECRET);
    // Debezium's start-up configuration dump stays at WARN and below the relay's INFO lines.
    assertThat(log)
        .doesNotContain("connector.class =")
        .doesNotContain("PostgresConnectorConfig values");
    assertThat(log.lines().filter(l -> l.contains(" INFO ")).count()).isLessThan(30);
  }

  private static StreamContents.Stored awaitMessage(Connection nc, String id) {
    StreamContents.Stored[] found = new StreamContents.Stored[1];
    io.outboxkit.testing.Ports.await(
        "message " + id,
        Duration.ofSeconds(60),
        () -> {
          for (StreamContents.Stored s : StreamContents.readAll(nc, stream)) {
            if (id.equals(s.msgId())) {
              found[0] = s;
              return true;
            }
          }
          return false;
        });
    return found[0];
  }

  private static String aggregateOf(List<StreamContents.Stored> stored, String id) {
    if (index == null) {
      index = new java.util.HashMap<>();
      stored.forEach(s -> index.put(s.msgId(), s.header(OutboxHeaders.AGGREGATE_ID)));
    }
    return index.get(id);
  }

  private static Map<String, String> index;
}
