package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.outboxkit.HeaderValues;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxEnvelope;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.relay.HostileRows.Row;
import io.outboxkit.relay.HostileRows.Shape;
import io.outboxkit.relay.HostileRows.Tx;
import io.outboxkit.testing.NatsProcess;
import io.outboxkit.testing.TestInfra;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 9, item 2, through the real relay: a few thousand generated rows (see {@link HostileRows})
 * written with plain SQL by concurrent writers in small transactions, as writers in other languages
 * may write anything the table's checks allow. Every committed row is either in the stream exactly
 * once on its subject with every value intact after {@link HeaderValues#decode}, or in the relay's
 * dead-letter subject exactly once with its reason and the expected kind; the rows after a bad one
 * arrive; rolled-back rows appear nowhere.
 *
 * <p>The seed is printed; {@code -Dhostile.seed=N} repeats a run's data ({@code -Dhostile.rows=N}
 * changes the number of rows).
 */
class HostileRowsIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  private static final int MAX_PAYLOAD = 64 * 1024;
  private static final int WRITERS = 4;
  private static final String INSERT =
      "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)"
          + " VALUES (?::uuid, ?, ?, ?, ?, ?::jsonb)";
  private static final JsonFactory JSON = new JsonFactory();

  /** What the relay must do with a row: publish it on {@code subject}, or dead-letter as kind. */
  private record Expected(
      String subject, String deadLetterKind, Map<String, String> headers, Row stored) {}

  /**
   * Both outbox modes: rows in the table, and the same events written as WAL messages (one envelope
   * per transaction, built by the test as a writer in another language would).
   */
  @ParameterizedTest
  @EnumSource(Outbox.Mode.class)
  void everyGeneratedRowIsPublishedIntactOrDeadLetteredOnceAndTheRestFlows(Outbox.Mode mode)
      throws Exception {
    long seed = Long.getLong("hostile.seed", new SecureRandom().nextLong());
    int rows = Integer.getInteger("hostile.rows", 3000);
    System.out.println(
        "HostileRowsIT seed="
            + seed
            + " rows="
            + rows
            + " (repeat with -Dhostile.seed="
            + seed
            + ")");
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    NatsProcess nats = infra.privateNats(NatsProcess.options().withMaxPayload(MAX_PAYLOAD));
    String stream = infra.streamName() + "_" + mode.name().charAt(0);
    String prefix = infra.prefix() + mode.name().toLowerCase().charAt(0);
    String deadLetterSubject = prefix + "-dlq.relay";

    List<List<Tx>> plan = new HostileRows(prefix, MAX_PAYLOAD).generate(seed, WRITERS, rows);
    Map<Shape, Integer> shapes = new TreeMap<>();
    plan.forEach(
        w -> w.forEach(tx -> tx.rows().forEach(r -> shapes.merge(r.shape(), 1, Integer::sum))));
    System.out.println("HostileRowsIT generated " + shapes);

    try (RelayProcess relay =
            new RelayProcess(
                    RelayProcess.env(
                        infra.pgHost(),
                        infra.pgPort(),
                        infra.database(),
                        infra.pgUser(),
                        infra.pgPassword(),
                        nats.url(),
                        stream,
                        prefix))
                .start();
        Connection nc = reader(nats.url())) {
      relay.awaitStreaming(Duration.ofSeconds(90));

      // Write: 4 writers at once, each its own sequence of small transactions.
      List<Row> committed = Collections.synchronizedList(new ArrayList<>());
      List<Row> rolledBack = Collections.synchronizedList(new ArrayList<>());
      Set<String> afterBad = Collections.synchronizedSet(new HashSet<>());
      ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
      try {
        List<Future<?>> writers = new ArrayList<>();
        for (List<Tx> txs : plan) {
          writers.add(
              pool.submit(
                  () ->
                      mode == Outbox.Mode.TABLE
                          ? write(txs, committed, rolledBack, afterBad)
                          : emit(txs, committed, rolledBack, afterBad)));
        }
        for (Future<?> f : writers) {
          f.get(5, TimeUnit.MINUTES);
        }
      } finally {
        pool.shutdownNow();
      }

      // The oracle works from the rows as PostgreSQL stored them (jsonb orders keys its own way).
      Map<String, Expected> expected =
          mode == Outbox.Mode.TABLE
              ? expectations(committed, rolledBack, prefix)
              : emitted(committed, prefix);
      Map<String, Long> byKind = new TreeMap<>();
      expected
          .values()
          .forEach(e -> byKind.merge(String.valueOf(e.deadLetterKind()), 1L, Long::sum));
      System.out.println("HostileRowsIT expects (null = published) " + byKind);

      awaitAll(nc, stream, expected.size(), relay);
      List<StreamContents.Stored> stored = StreamContents.readAll(nc, stream);
      String report = check(stored, expected, rolledBack, afterBad, deadLetterSubject);
      if (!report.isEmpty()) {
        throw new AssertionError(
            report
                + "\nseed "
                + seed
                + " (repeat with -Dhostile.seed="
                + seed
                + ")\nrelay health: "
                + relay.health()
                + "\nrelay metrics:\n"
                + relay.metrics()
                + "\nrelay log tail:\n"
                + relay.logTail());
      }
      assertThat(relay.isAlive()).as("the relay runs on").isTrue();
      relay.awaitStreaming(Duration.ofSeconds(10));
      assertThat(relay.metric("outboxkit_relay_engine_restarts_total"))
          .as("engine restarts: a row must never restart the engine")
          .isEqualTo(0.0);
    }
  }

  /**
   * A connection to read the stream with room for long control lines: a message on a subject of
   * 3968 bytes arrives with a control line close to jnats' default limit of 4096, and this test
   * judges the relay, not the reading client.
   */
  private static Connection reader(String url) throws IOException, InterruptedException {
    return Nats.connect(
        new Options.Builder()
            .server(url)
            .maxControlLine(16 * 1024)
            .connectionTimeout(Duration.ofSeconds(5))
            .maxReconnects(-1)
            .build());
  }

  /** Runs one writer's transactions; records what committed and what rolled back. */
  private static Void write(
      List<Tx> txs, List<Row> committed, List<Row> rolledBack, Set<String> afterBad)
      throws Exception {
    boolean previousBad = false;
    try (java.sql.Connection c = infra.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement(INSERT)) {
      c.setAutoCommit(false);
      int n = 0;
      for (Tx tx : txs) {
        boolean batch = n++ % 2 == 1;
        for (Row r : tx.rows()) {
          ps.setString(1, r.id());
          ps.setString(2, r.aggregateType());
          ps.setString(3, r.aggregateId());
          ps.setString(4, r.eventType());
          ps.setBytes(5, r.payload());
          ps.setString(6, r.headersJson());
          if (batch) {
            ps.addBatch();
          } else {
            ps.executeUpdate();
          }
        }
        if (batch) {
          ps.executeBatch();
        }
        if (tx.commit()) {
          c.commit();
          for (Row r : tx.rows()) {
            if (previousBad && r.shape() == Shape.PLAIN) {
              afterBad.add(r.id());
            }
            previousBad = r.shape() != Shape.PLAIN && r.shape() != Shape.RANDOM;
          }
          committed.addAll(tx.rows());
        } else {
          c.rollback();
          rolledBack.addAll(tx.rows());
        }
      }
    }
    return null;
  }

  /**
   * Runs one writer's transactions in WAL-message mode: each transaction's events in one envelope,
   * emitted as one transactional logical message. Headers go in as PostgreSQL's jsonb prints them,
   * so that one oracle serves both modes.
   */
  private static Void emit(
      List<Tx> txs, List<Row> committed, List<Row> rolledBack, Set<String> afterBad)
      throws Exception {
    boolean previousBad = false;
    try (java.sql.Connection c = infra.dataSource().getConnection();
        PreparedStatement normalize = c.prepareStatement("SELECT ?::jsonb::text");
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT pg_logical_emit_message(true, '"
                    + Outbox.DEFAULT_MESSAGE_PREFIX
                    + "', ?::bytea)")) {
      c.setAutoCommit(false);
      for (Tx tx : txs) {
        List<Row> rows = new ArrayList<>();
        List<OutboxEnvelope.Entry> entries = new ArrayList<>();
        for (Row r : tx.rows()) {
          String headers = null;
          if (r.headersJson() != null) {
            normalize.setString(1, r.headersJson());
            try (ResultSet rs = normalize.executeQuery()) {
              rs.next();
              headers = rs.getString(1);
            }
          }
          Row n =
              new Row(
                  r.id(),
                  r.shape(),
                  r.aggregateType(),
                  r.aggregateId(),
                  r.eventType(),
                  r.payload(),
                  headers);
          rows.add(n);
          entries.add(
              new OutboxEnvelope.Entry(
                  UUID.fromString(n.id()),
                  n.aggregateType(),
                  n.aggregateId(),
                  n.eventType(),
                  n.headersJson(),
                  n.payload()));
        }
        ps.setBytes(1, OutboxEnvelope.encode(entries));
        ps.executeQuery().close();
        if (tx.commit()) {
          c.commit();
          for (Row r : rows) {
            if (previousBad && r.shape() == Shape.PLAIN) {
              afterBad.add(r.id());
            }
            previousBad = r.shape() != Shape.PLAIN && r.shape() != Shape.RANDOM;
          }
          committed.addAll(rows);
        } else {
          c.rollback();
          rolledBack.addAll(rows);
        }
      }
    }
    return null;
  }

  /** WAL-message mode: nothing is stored in a table; the oracle works from what was emitted. */
  private static Map<String, Expected> emitted(List<Row> committed, String prefix)
      throws IOException {
    Map<String, Expected> out = new LinkedHashMap<>();
    for (Row r : committed) {
      out.put(r.id(), expect(r, prefix));
    }
    return out;
  }

  /**
   * Reads the rows back as stored, checks that PostgreSQL holds exactly what was written, and
   * decides for each what the relay must do by the contract.
   */
  private static Map<String, Expected> expectations(
      List<Row> committed, List<Row> rolledBack, String prefix) throws Exception {
    Map<String, Row> written = new HashMap<>();
    committed.forEach(r -> written.put(r.id(), r));
    Map<String, Expected> out = new LinkedHashMap<>();
    try (java.sql.Connection c = infra.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT id::text, aggregate_type, aggregate_id, event_type, payload,"
                    + " headers::text FROM public.outbox")) {
      while (rs.next()) {
        Row db =
            new Row(
                rs.getString(1),
                null,
                rs.getString(2),
                rs.getString(3),
                rs.getString(4),
                rs.getBytes(5),
                rs.getString(6));
        Row w = written.get(db.id());
        if (w == null) {
          throw new AssertionError("the table holds a row no writer committed: " + db.id());
        }
        if (!w.aggregateType().equals(db.aggregateType())
            || !w.aggregateId().equals(db.aggregateId())
            || !w.eventType().equals(db.eventType())
            || !Arrays.equals(w.payload(), db.payload())
            || (w.headersJson() == null) != (db.headersJson() == null)) {
          throw new AssertionError("PostgreSQL did not store row " + db.id() + " as written");
        }
        out.put(
            db.id(),
            expect(
                new Row(
                    db.id(),
                    w.shape(),
                    db.aggregateType(),
                    db.aggregateId(),
                    db.eventType(),
                    db.payload(),
                    db.headersJson()),
                prefix));
      }
    }
    assertThat(out.keySet()).as("committed rows in the table").hasSize(written.size());
    Set<String> gone = new HashSet<>();
    rolledBack.forEach(r -> gone.add(r.id()));
    gone.retainAll(out.keySet());
    assertThat(gone).as("rolled-back rows in the table").isEmpty();
    return out;
  }

  /**
   * The contract, for one stored row. Check order: header problems in the row's header order
   * (reserved name, a name NATS cannot carry, an object or array value), then the subject's length,
   * then the payload's size.
   */
  static Expected expect(Row row, String prefix) throws IOException {
    Map<String, String> headers = new LinkedHashMap<>();
    String kind = null;
    if (row.headersJson() != null) {
      try (JsonParser p = JSON.createParser(row.headersJson())) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          throw new IllegalStateException("the table's check lets only objects through");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          JsonToken t = p.nextToken();
          if (kind != null) {
            p.skipChildren();
            continue;
          }
          if (OutboxHeaders.isReserved(name)) {
            kind = "reserved_header";
          } else if (!natsCanCarry(name)) {
            kind = "invalid_headers";
          } else if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
            kind = "invalid_headers";
          } else if (t != JsonToken.VALUE_NULL) {
            headers.put(name, p.getText());
          }
          p.skipChildren();
        }
      }
    }
    String subject = prefix + "." + token(row.aggregateType()) + "." + token(row.eventType());
    if (kind == null
        && subject.getBytes(StandardCharsets.UTF_8).length > HostileRows.MAX_SUBJECT_BYTES) {
      kind = "subject_too_long";
    }
    if (kind == null && row.payload().length > MAX_PAYLOAD) {
      kind = "payload_too_large";
    }
    if (kind == null && row.payload().length + headerBytes(row, headers) > MAX_PAYLOAD - 2048) {
      throw new IllegalStateException(
          "generated row "
              + row.id()
              + " is too close to max_payload to have one expected outcome");
    }
    return new Expected(kind == null ? subject : null, kind, headers, row);
  }

  /** A header name NATS can carry: printable ASCII (33..126) without ':'. */
  private static boolean natsCanCarry(String name) {
    if (name.isEmpty()) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 33 || c > 126 || c == ':') {
        return false;
      }
    }
    return true;
  }

  /** The subject token rule: A-Z a-z 0-9 - _ kept, any other character as %XX of its UTF-8. */
  private static String token(String value) {
    StringBuilder sb = new StringBuilder();
    value
        .codePoints()
        .forEach(
            cp -> {
              if ((cp >= 'a' && cp <= 'z')
                  || (cp >= 'A' && cp <= 'Z')
                  || (cp >= '0' && cp <= '9')
                  || cp == '-'
                  || cp == '_') {
                sb.append((char) cp);
              } else {
                for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                  sb.append(String.format("%%%02X", b & 0xFF));
                }
              }
            });
    return sb.toString();
  }

  /** An upper bound of the header block's size on the wire. */
  private static int headerBytes(Row row, Map<String, String> headers) {
    int n = 400; // NATS/1.0, Nats-Msg-Id, Outbox-Commit-Us, Outbox-Replay-Lsn, separators
    n += 40 + HeaderValues.encode(row.aggregateType()).length();
    n += 40 + HeaderValues.encode(row.aggregateId()).length();
    n += 40 + HeaderValues.encode(row.eventType()).length();
    for (Map.Entry<String, String> h : headers.entrySet()) {
      n += h.getKey().length() + 4 + HeaderValues.encode(h.getValue()).length();
    }
    return n;
  }

  /**
   * Waits until the stream holds a message for every committed row; gives up after a minute without
   * progress (the relay is stuck) or after the deadline, so that the check can say what is missing.
   */
  private static void awaitAll(Connection nc, String stream, long n, RelayProcess relay)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(6).toNanos();
    long lastCount = -1;
    long lastProgress = System.nanoTime();
    while (System.nanoTime() < deadline && relay.isAlive()) {
      long count = StreamContents.count(nc, stream);
      if (count >= n) {
        return;
      }
      if (count != lastCount) {
        lastCount = count;
        lastProgress = System.nanoTime();
      } else if (System.nanoTime() - lastProgress > Duration.ofSeconds(60).toNanos()) {
        System.out.println(
            "HostileRowsIT: no progress for 60 s at " + count + " of " + n + " messages");
        return;
      }
      // Polling interval of a wait with a deadline, not a fixed sleep.
      TimeUnit.MILLISECONDS.sleep(500);
    }
  }

  /** Every failed expectation, grouped, with a few examples each; empty when all hold. */
  private static String check(
      List<StreamContents.Stored> stored,
      Map<String, Expected> expected,
      List<Row> rolledBack,
      Set<String> afterBad,
      String deadLetterSubject) {
    Map<String, List<StreamContents.Stored>> published = new HashMap<>();
    Map<String, List<StreamContents.Stored>> deadLettered = new HashMap<>();
    Problems problems = new Problems();
    for (StreamContents.Stored s : stored) {
      if (s.subject().equals(deadLetterSubject)) {
        String id = s.header(OutboxHeaders.OUTBOX_ID);
        deadLettered.computeIfAbsent(String.valueOf(id), k -> new ArrayList<>()).add(s);
      } else {
        published.computeIfAbsent(String.valueOf(s.msgId()), k -> new ArrayList<>()).add(s);
      }
    }
    Set<String> rolledBackIds = new HashSet<>();
    rolledBack.forEach(r -> rolledBackIds.add(r.id()));
    for (String id : published.keySet()) {
      if (!expected.containsKey(id)) {
        problems.add(
            rolledBackIds.contains(id) ? "rolled-back row published" : "unknown message published",
            id + " on " + published.get(id).get(0).subject());
      }
    }
    for (String id : deadLettered.keySet()) {
      if (!expected.containsKey(id)) {
        problems.add(
            rolledBackIds.contains(id) ? "rolled-back row dead-lettered" : "unknown dead letter",
            id);
      }
    }
    int missingAfterBad = 0;
    for (Expected e : expected.values()) {
      Row row = e.stored();
      String id = row.id();
      List<StreamContents.Stored> pub = published.getOrDefault(id, List.of());
      List<StreamContents.Stored> dlq = deadLettered.getOrDefault(id, List.of());
      String label = id + " (" + row.shape() + ")";
      if (pub.isEmpty() && dlq.isEmpty()) {
        problems.add(
            "missing (expected " + (e.subject() != null ? "published" : e.deadLetterKind()) + ")",
            label);
        if (afterBad.contains(id)) {
          missingAfterBad++;
        }
        continue;
      }
      if (pub.size() + dlq.size() > 1) {
        problems.add(
            "stored more than once",
            label + ": " + pub.size() + " published, " + dlq.size() + " dead-lettered");
      }
      if (e.subject() != null) {
        if (pub.isEmpty()) {
          StreamContents.Stored d = dlq.get(0);
          problems.add(
              "dead-lettered but should be published",
              label
                  + " as "
                  + d.header(OutboxHeaders.ERROR_KIND)
                  + ": "
                  + HeaderValues.decode(d.header(OutboxHeaders.ERROR)));
          continue;
        }
        checkPublished(pub.get(0), e, label, problems);
      } else {
        if (dlq.isEmpty()) {
          problems.add(
              "published but should be dead-lettered as " + e.deadLetterKind(),
              label + " on " + pub.get(0).subject());
          continue;
        }
        checkDeadLetter(dlq.get(0), e, label, problems);
      }
    }
    if (problems.isEmpty()) {
      return "";
    }
    long dlqExpected = expected.values().stream().filter(e -> e.subject() == null).count();
    return "of "
        + expected.size()
        + " committed rows ("
        + (expected.size() - dlqExpected)
        + " to publish, "
        + dlqExpected
        + " to dead-letter), the stream holds "
        + stored.size()
        + " messages ("
        + published.size()
        + " published ids, "
        + deadLettered.size()
        + " dead-lettered ids); plain rows written after a bad row and missing: "
        + missingAfterBad
        + " of "
        + afterBad.size()
        + "\n"
        + problems;
  }

  private static void checkPublished(
      StreamContents.Stored m, Expected e, String label, Problems problems) {
    Row row = e.stored();
    if (!e.subject().equals(m.subject())) {
      problems.add("wrong subject", label + ": " + m.subject() + " instead of " + e.subject());
    }
    expectDecoded(m, OutboxHeaders.AGGREGATE_TYPE, row.aggregateType(), label, problems);
    expectDecoded(m, OutboxHeaders.AGGREGATE_ID, row.aggregateId(), label, problems);
    expectDecoded(m, OutboxHeaders.EVENT_TYPE, row.eventType(), label, problems);
    for (Map.Entry<String, String> h : e.headers().entrySet()) {
      List<String> values = m.headers() == null ? null : m.headers().get(h.getKey());
      if (values == null || values.size() != 1) {
        problems.add("row header missing or repeated", label + ": " + h.getKey() + " -> " + values);
      } else {
        expectDecoded(m, h.getKey(), h.getValue(), label, problems);
      }
    }
    if (m.header(OutboxHeaders.COMMIT_TIME) == null) {
      problems.add("no " + OutboxHeaders.COMMIT_TIME, label);
    }
    if (m.header(OutboxHeaders.REPLAY_LSN) == null) {
      problems.add("no " + OutboxHeaders.REPLAY_LSN, label);
    }
    byte[] data = m.data() == null ? new byte[0] : m.data();
    if (!Arrays.equals(row.payload(), data)) {
      problems.add(
          "payload differs",
          label + ": " + data.length + " bytes instead of " + row.payload().length);
    }
  }

  private static void expectDecoded(
      StreamContents.Stored m, String header, String want, String label, Problems problems) {
    String onTheWire = m.header(header);
    String got = HeaderValues.decode(onTheWire);
    if (!want.equals(got)) {
      problems.add(
          "header value not intact: " + (OutboxHeaders.isReserved(header) ? header : "row header"),
          label
              + ": "
              + header
              + " = "
              + quote(onTheWire)
              + ", decoded "
              + quote(got)
              + ", want "
              + quote(want));
    }
  }

  private static void checkDeadLetter(
      StreamContents.Stored m, Expected e, String label, Problems problems) {
    String id = e.stored().id();
    if (!("dlq-" + id).equals(m.msgId())) {
      problems.add("dead letter with wrong Nats-Msg-Id", label + ": " + m.msgId());
    }
    String error = HeaderValues.decode(m.header(OutboxHeaders.ERROR));
    if (error == null || error.isBlank()) {
      problems.add("dead letter without Outbox-Error", label);
    }
    String kind = m.header(OutboxHeaders.ERROR_KIND);
    if (!e.deadLetterKind().equals(kind)) {
      problems.add(
          "dead letter of the wrong kind",
          label + ": " + kind + " instead of " + e.deadLetterKind() + " (" + error + ")");
    }
  }

  private static String quote(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder("\"");
    s.codePoints()
        .limit(80)
        .forEach(
            cp -> {
              if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) {
                sb.append(String.format("\\u%04X", cp));
              } else {
                sb.appendCodePoint(cp);
              }
            });
    return sb.append(s.codePointCount(0, s.length()) > 80 ? "...\"" : "\"").toString();
  }

  /** Failed expectations grouped by what failed; the first few examples of each. */
  private static final class Problems {
    private final Map<String, List<String>> byWhat = new TreeMap<>();
    private final Map<String, Integer> counts = new TreeMap<>();

    void add(String what, String example) {
      counts.merge(what, 1, Integer::sum);
      List<String> examples = byWhat.computeIfAbsent(what, k -> new ArrayList<>());
      if (examples.size() < 5) {
        examples.add(example);
      }
    }

    boolean isEmpty() {
      return counts.isEmpty();
    }

    @Override
    public String toString() {
      StringBuilder sb = new StringBuilder();
      counts.forEach(
          (what, n) -> {
            sb.append("  ").append(n).append(" x ").append(what).append('\n');
            byWhat.get(what).forEach(ex -> sb.append("      e.g. ").append(ex).append('\n'));
          });
      return sb.toString();
    }
  }
}
