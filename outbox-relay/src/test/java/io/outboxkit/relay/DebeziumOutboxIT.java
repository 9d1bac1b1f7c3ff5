package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.HeaderValues;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A drop-in for Debezium users: the relay reads outbox tables made for Debezium's outbox event
 * router ({@code id uuid, aggregatetype, aggregateid, type, payload} as jsonb or text, no headers,
 * no creation time), unchanged, with {@code columns.preset=debezium}. Concurrent writers write
 * Unicode payloads (umlauts, emoji, CR/LF); every committed row arrives once with the exact bytes
 * PostgreSQL holds, on the right subject with the right headers; rolled-back rows never. A wrong
 * mapping stops the relay at start (exit 2) naming the setting.
 */
class DebeziumOutboxIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  /** Debezium's documented outbox table, payload as jsonb. */
  static final String JSONB_TABLE =
      "CREATE TABLE public.outbox (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL,"
          + " aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb)";

  /** The same with a text payload and an extra column the relay does not read. */
  static final String TEXT_TABLE =
      "CREATE TABLE public.outbox_text (id uuid PRIMARY KEY, aggregatetype text NOT NULL,"
          + " aggregateid text NOT NULL, type text NOT NULL, payload text,"
          + " tracingspancontext varchar(256))";

  /** Aggregate types and their subject tokens (the relay's subject rule, written out). */
  static final Map<String, String> TYPES =
      Map.of("Zähler", "Z%C3%A4hler", "grid zone ⚡", "grid%20zone%20%E2%9A%A1", "meter", "meter");

  @BeforeAll
  static void tables() {
    infra.jdbi().useHandle(h -> h.execute(JSONB_TABLE));
    infra.jdbi().useHandle(h -> h.execute(TEXT_TABLE));
  }

  private static Map<String, String> env(String suffix) {
    String prefix = infra.prefix() + suffix;
    Map<String, String> env =
        RelayProcess.env(infra, infra.natsUrl(), infra.streamName() + "_" + suffix, prefix);
    env.put("OUTBOXKIT_RELAY_TABLES", "public.outbox,public.outbox_text");
    env.put("OUTBOXKIT_RELAY_OFFSETS_TABLE", prefix + "_state.relay_offsets");
    return env;
  }

  /** One committed row: where, what. */
  record Written(UUID id, String table, String type, String aggregateId, String event) {}

  @Test
  void debeziumStyleTablesAreRelayedWithoutAMigration() throws Exception {
    Map<String, String> env = env("d");
    env.put("OUTBOXKIT_RELAY_COLUMNS_PRESET", "debezium");
    String stream = env.get("OUTBOXKIT_RELAY_STREAM_NAME");
    String prefix = infra.prefix() + "d";
    List<Written> committed = new ArrayList<>();
    Set<UUID> rolledBack = ConcurrentHashMap.newKeySet();
    try (RelayProcess relay = new RelayProcess(env).start();
        Connection nc = TestInfra.connect(infra.natsUrl())) {
      relay.awaitStreaming(Duration.ofSeconds(120));
      int writers = 4;
      int transactions = 60;
      ExecutorService pool = Executors.newFixedThreadPool(writers);
      List<Future<List<Written>>> futures = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int writer = w;
        futures.add(pool.submit(() -> write(writer, transactions, rolledBack)));
      }
      for (Future<List<Written>> f : futures) {
        committed.addAll(f.get());
      }
      pool.shutdown();
      assertThat(rolledBack).isNotEmpty();

      try {
        StreamContents.awaitCount(nc, stream, committed.size(), Duration.ofSeconds(120));
      } catch (IllegalStateException e) {
        throw new AssertionError(e.getMessage() + "\n" + relay.metrics() + relay.logTail(), e);
      }
      // What PostgreSQL holds, as text: the bytes the relay must publish.
      Map<UUID, String> stored = new HashMap<>();
      infra
          .jdbi()
          .useHandle(
              h -> {
                for (String table : List.of("public.outbox", "public.outbox_text")) {
                  h.createQuery("SELECT id, payload::text AS p FROM " + table)
                      .map((rs, ctx) -> Map.entry(rs.getObject(1, UUID.class), rs.getString(2)))
                      .forEach(e -> stored.put(e.getKey(), e.getValue()));
                }
              });

      List<StreamContents.Stored> messages = StreamContents.readAll(nc, stream);
      assertThat(messages).as("every committed row once, nothing else").hasSize(committed.size());
      Map<String, StreamContents.Stored> byId =
          messages.stream()
              .collect(Collectors.toMap(StreamContents.Stored::msgId, m -> m, (a, b) -> a));
      assertThat(byId).hasSize(committed.size());
      for (Written w : committed) {
        StreamContents.Stored m = byId.get(w.id().toString());
        assertThat(m).as("row %s of %s", w.id(), w.table()).isNotNull();
        assertThat(m.data())
            .as("payload of %s (%s)", w.id(), w.table())
            .isEqualTo(stored.get(w.id()).getBytes(StandardCharsets.UTF_8));
        assertThat(m.subject()).isEqualTo(prefix + "." + TYPES.get(w.type()) + "." + w.event());
        assertThat(HeaderValues.decode(m.header(OutboxHeaders.AGGREGATE_TYPE))).isEqualTo(w.type());
        assertThat(HeaderValues.decode(m.header(OutboxHeaders.AGGREGATE_ID)))
            .isEqualTo(w.aggregateId());
        assertThat(m.header(OutboxHeaders.EVENT_TYPE)).isEqualTo(w.event());
        assertThat(m.header(OutboxHeaders.ERROR_KIND)).isNull();
        assertThat(m.headers().keySet())
            .as("no row headers: the table has none")
            .allMatch(k -> k.startsWith("Nats-") || k.startsWith("Outbox-"));
      }
      assertThat(messages)
          .extracting(StreamContents.Stored::msgId)
          .doesNotContainAnyElementsOf(rolledBack.stream().map(UUID::toString).toList());
      // The text table keeps the bytes as written, CR/LF and all; jsonb is PostgreSQL's JSON text.
      Written text =
          committed.stream().filter(w -> w.table().equals("public.outbox_text")).findFirst().get();
      assertThat(new String(byId.get(text.id().toString()).data(), StandardCharsets.UTF_8))
          .contains("\r\n")
          .contains("Grüße 🌩");

      // The CLI reads the same mapping: replay by id works, by time needs a creation time column.
      CliRun cli = new CliRun(env);
      CliRun.Result count = cli.run("replay", "--all", "--dry-run", "--json");
      assertThat(count.exit()).as(count.toString()).isZero();
      assertThat(count.json().path("rows").asLong()).isEqualTo(committed.size());
      CliRun.Result byTime = cli.run("replay", "--since", "2h", "--dry-run");
      assertThat(byTime.exit()).as(byTime.toString()).isEqualTo(2);
      assertThat(byTime.err()).contains("outboxkit.relay.columns.created-at");
    }
  }

  /** Writes {@code n} transactions of 1–3 rows into both tables; every fifth is rolled back. */
  private static List<Written> write(int writer, int n, Set<UUID> rolledBack) {
    List<Written> out = new ArrayList<>();
    List<String> types = List.of("Zähler", "grid zone ⚡", "meter");
    for (int t = 0; t < n; t++) {
      int tx = t;
      boolean rollback = t % 5 == 4;
      List<Written> rows = new ArrayList<>();
      Handle h = infra.jdbi().open();
      try {
        h.begin();
        for (int r = 0; r <= tx % 3; r++) {
          UUID id = UUID.randomUUID();
          String type = types.get((writer + tx + r) % types.size());
          String aggregateId = "Zähler-" + writer + "-" + tx + (r == 1 ? " Süd 🔌\r\n" : "");
          String event = r == 2 ? "ReadingCorrected" : "ReadingRecorded";
          boolean jsonb = (tx + r) % 2 == 0;
          String table = jsonb ? "public.outbox" : "public.outbox_text";
          // jsonb: line breaks escaped inside a string, whitespace that jsonb normalizes;
          // text: raw CR/LF between the tokens, kept byte for byte.
          String payload =
              jsonb
                  ? "{ \"note\" :  \"Grüße 🌩 line 1\\r\\nline 2\", \"kwh\": 1.50, \"w\": "
                      + writer
                      + "}"
                  : "{\r\n  \"note\": \"Grüße 🌩 ÄÖÜ ß\",\r\n  \"tx\": " + tx + "\r\n}";
          h.createUpdate(
                  "INSERT INTO "
                      + table
                      + " (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, ?, ?, ?"
                      + (jsonb ? "::jsonb" : "")
                      + ")")
              .bind(0, id)
              .bind(1, type)
              .bind(2, aggregateId)
              .bind(3, event)
              .bind(4, payload)
              .execute();
          rows.add(new Written(id, table, type, aggregateId, event));
        }
        if (rollback) {
          h.rollback();
          rows.forEach(w -> rolledBack.add(w.id()));
        } else {
          h.commit();
          out.addAll(rows);
        }
      } finally {
        h.close();
      }
    }
    return out;
  }

  @Test
  void aWrongMappingStopsTheRelayAtStartNamingTheSetting() {
    // outboxkit's default columns on Debezium's table
    Map<String, String> env = env("w1");
    assertThat(refused(env))
        .contains("outboxkit.relay.columns.aggregate-type")
        .contains("OUTBOXKIT_RELAY_COLUMNS_AGGREGATE_TYPE")
        .contains("no column aggregate_type")
        .contains("outboxkit.relay.columns.preset=debezium");
    // a column of the wrong type
    env = env("w2");
    env.put("OUTBOXKIT_RELAY_COLUMNS_PRESET", "debezium");
    env.put("OUTBOXKIT_RELAY_COLUMNS_ID", "aggregateid");
    env.put("OUTBOXKIT_RELAY_COLUMNS_AGGREGATE_ID", "id");
    assertThat(refused(env))
        .contains("outboxkit.relay.columns.id")
        .contains("column aggregateid of type character varying")
        .contains("uuid");
    // a headers column the table does not have
    env = env("w3");
    env.put("OUTBOXKIT_RELAY_COLUMNS_PRESET", "debezium");
    env.put("OUTBOXKIT_RELAY_COLUMNS_HEADERS", "headers");
    assertThat(refused(env)).contains("outboxkit.relay.columns.headers").contains("none");
    // nothing was created for the refused relays
    int slots =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery(
                            "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE ?")
                        .bind(0, infra.prefix() + "w%")
                        .mapTo(Integer.class)
                        .one());
    assertThat(slots).isZero();
  }

  private static String refused(Map<String, String> env) {
    try (RelayProcess relay = new RelayProcess(env).start()) {
      int exit = relay.waitExit(Duration.ofSeconds(90));
      assertThat(exit).as("exit status; log:\n" + relay.logTail()).isEqualTo(2);
      return relay.log();
    }
  }
}
