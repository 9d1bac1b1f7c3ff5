package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.Headers;
import io.outboxkit.HeaderValues;
import io.outboxkit.OutboxException;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.UuidV7;
import io.outboxkit.consumer.ConsumerFixture.TestStream;
import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Tuple;
import net.jqwik.api.sessions.JqwikSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9: whatever text a row carries in its routing fields and headers (any Unicode, astral
 * characters, combining marks, CR/LF, control characters, the encoding's own marker, up to the
 * column limit of 255 characters), the relay sends it encoded and the handler receives the
 * original, exactly once, and a dead letter carries its reason intact. The data is generated: the
 * seed is printed, and {@code -Doutboxkit.seed=N} replays a run.
 */
class ConsumerHostileValuesIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static ConsumerFixture fx;

  static final int EVENTS = 300;

  /** Every this many events one is poison: the handler throws, quoting its aggregate id. */
  static final int POISON_EVERY = 20;

  @BeforeAll
  static void migrate() {
    fx = new ConsumerFixture(infra);
    fx.migrate();
    infra
        .jdbi()
        .useHandle(
            h -> {
              h.execute(
                  "CREATE TABLE seen (message_id text NOT NULL, aggregate_type text,"
                      + " aggregate_id text, event_type text)");
              h.execute(
                  "CREATE TABLE seen_header (message_id text NOT NULL, name text NOT NULL,"
                      + " value text)");
            });
  }

  @AfterEach
  void closeConsumers() {
    fx.closeConsumers();
  }

  /** Code points of every kind that has broken a header somewhere; never a lone surrogate. */
  static Arbitrary<String> hostileText(int minLength, int maxLength) {
    Arbitrary<Integer> codePoint =
        Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.integers().between(0x20, 0x7E)), // printable ASCII, % and '
            Tuple.of(2, Arbitraries.of((int) '\r', (int) '\n', (int) '\t', (int) ' ')),
            Tuple.of(1, Arbitraries.integers().between(0x01, 0x1F)), // control, no NUL
            Tuple.of(1, Arbitraries.integers().between(0x7F, 0x9F)), // DEL and C1 controls
            Tuple.of(2, Arbitraries.integers().between(0xA0, 0x2FF)), // Latin-1, umlauts
            Tuple.of(2, Arbitraries.integers().between(0x300, 0x36F)), // combining marks
            Tuple.of(1, Arbitraries.integers().between(0x370, 0xD7FF)), // Greek .. Hangul, CJK
            Tuple.of(1, Arbitraries.integers().between(0xE000, 0xFFFF)), // BOM, U+FFFD, U+FFFF
            Tuple.of(2, Arbitraries.integers().between(0x1F300, 0x1FAFF)), // emoji (astral)
            Tuple.of(1, Arbitraries.integers().between(0x10000, 0x10FFFF))); // any astral
    Arbitrary<String> generated =
        codePoint
            .list()
            .ofMinSize(minLength)
            .ofMaxSize(maxLength)
            .map(
                cps -> {
                  StringBuilder sb = new StringBuilder();
                  cps.forEach(sb::appendCodePoint);
                  return sb.toString();
                });
    Arbitrary<String> tricky =
        Arbitraries.of(
            " ",
            " leading",
            "trailing ",
            "Zählerstand Süd",
            "line\r\nbreak",
            "100%",
            "%C3%A4",
            HeaderValues.MARKER,
            HeaderValues.MARKER + "Z%C3%BCrich",
            HeaderValues.MARKER + "%zz",
            "e\u0301\u0301",
            "🚀⚡",
            "\u0007bell\u001f\u007f",
            "\uFEFFbom",
            "ü".repeat(maxLength),
            "😀".repeat(maxLength));
    return Arbitraries.frequencyOf(Tuple.of(5, generated), Tuple.of(1, tricky))
        .filter(s -> s.codePointCount(0, s.length()) >= minLength)
        .filter(s -> s.codePointCount(0, s.length()) <= maxLength);
  }

  record Expected(TestRelay.Event event, boolean poison) {}

  @Test
  void everyValueReachesTheHandlerIntactExactlyOnceAndDeadLettersKeepTheirReason()
      throws Exception {
    long seed = Long.getLong("outboxkit.seed", new SecureRandom().nextLong());
    System.out.println(
        "ConsumerHostileValuesIT seed "
            + seed
            + " (replay: -Dit.test=ConsumerHostileValuesIT -Doutboxkit.seed="
            + seed
            + ")");
    Random random = new Random(seed);
    TestStream stream = fx.stream();
    Map<String, Expected> expected = new LinkedHashMap<>();
    // jqwik's generators outside its engine need a session on this thread.
    JqwikSession.start();
    try {
      var routing = hostileText(1, 255).generator(1000, true);
      var headerValue = hostileText(0, 255).generator(1000, true);
      var headerCount = Arbitraries.integers().between(0, 5).generator(1000, true);

      for (int i = 0; i < EVENTS; i++) {
        Map<String, String> headers = new LinkedHashMap<>();
        int n = headerCount.next(random).value();
        for (int k = 0; k < n; k++) {
          headers.put(
              "x-h" + k + "-" + Integer.toString(random.nextInt(1 << 20), 36),
              headerValue.next(random).value());
        }
        TestRelay.Event event =
            new TestRelay.Event(
                UuidV7.next().toString(),
                routing.next(random).value(),
                routing.next(random).value(),
                routing.next(random).value(),
                ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8),
                headers,
                Instant.now());
        expected.put(event.id(), new Expected(event, i % POISON_EVERY == 7));
        stream.relay().publish(event);
      }
    } finally {
      JqwikSession.finish();
    }
    Set<String> poison = ConcurrentHashMap.newKeySet();
    expected.values().stream().filter(Expected::poison).forEach(e -> poison.add(e.event().id()));
    long good = EVENTS - poison.size();

    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    fx.started(
        fx.consumer(
                stream,
                "hostile",
                (h, e) -> {
                  h.execute(
                      "INSERT INTO seen VALUES (?, ?, ?, ?)",
                      e.id(),
                      e.aggregateType(),
                      e.aggregateId(),
                      e.eventType());
                  for (Map.Entry<String, String> header : e.headers().entrySet()) {
                    h.execute(
                        "INSERT INTO seen_header VALUES (?, ?, ?)",
                        e.id(),
                        header.getKey(),
                        header.getValue());
                  }
                  if (poison.contains(e.id())) {
                    throw new IllegalStateException(
                        "cannot apply " + e.aggregateId() + "\r\n" + e.eventType());
                  }
                })
            .maxDeliveries(1)
            .meterRegistry(registry));

    await()
        .atMost(Duration.ofSeconds(120))
        .until(
            () ->
                fx.count("SELECT count(DISTINCT message_id) FROM seen") >= good
                    && counter(registry, "dead_lettered") >= poison.size()
                    && fx.settled(stream, "hostile"));

    // Exactly once: one committed row per good event, none for a poison one.
    assertThat(fx.count("SELECT count(*) FROM seen")).isEqualTo(good);
    assertThat(fx.count("SELECT count(DISTINCT message_id) FROM seen")).isEqualTo(good);
    assertThat(fx.inboxRows("hostile")).isEqualTo(good);
    Map<String, List<String>> seen = new HashMap<>();
    infra
        .jdbi()
        .useHandle(
            h ->
                h.createQuery(
                        "SELECT message_id, aggregate_type, aggregate_id, event_type FROM seen")
                    .map(
                        (rs, ctx) ->
                            List.of(
                                rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)))
                    .forEach(row -> seen.put(row.get(0), row)));
    Map<String, Map<String, String>> seenHeaders = new HashMap<>();
    infra
        .jdbi()
        .useHandle(
            h ->
                h.createQuery("SELECT message_id, name, value FROM seen_header")
                    .map((rs, ctx) -> List.of(rs.getString(1), rs.getString(2), rs.getString(3)))
                    .forEach(
                        row ->
                            seenHeaders
                                .computeIfAbsent(row.get(0), k -> new HashMap<>())
                                .put(row.get(1), row.get(2))));
    for (Expected x : expected.values()) {
      TestRelay.Event event = x.event();
      if (x.poison()) {
        assertThat(seen).doesNotContainKey(event.id());
        continue;
      }
      assertThat(seen.get(event.id()))
          .as("routing fields of %s", event.id())
          .containsExactly(
              event.id(), event.aggregateType(), event.aggregateId(), event.eventType());
      Map<String, String> headers = seenHeaders.getOrDefault(event.id(), Map.of());
      // the relay's own headers decoded, and every row header exactly as written
      assertThat(headers)
          .containsEntry(OutboxHeaders.AGGREGATE_TYPE, event.aggregateType())
          .containsEntry(OutboxHeaders.AGGREGATE_ID, event.aggregateId())
          .containsEntry(OutboxHeaders.EVENT_TYPE, event.eventType())
          .containsEntry(OutboxHeaders.MSG_ID, event.id())
          .containsAllEntriesOf(event.headers());
    }

    // Dead letters: the reason and the original headers survive, the reason cut to 1000 at most.
    Map<String, Headers> deadLetters = deadLetters(stream, stream.deadLetterSubject("hostile"));
    assertThat(deadLetters.keySet()).containsExactlyInAnyOrderElementsOf(poison);
    for (String id : poison) {
      TestRelay.Event event = expected.get(id).event();
      Headers h = deadLetters.get(id);
      String reason =
          OutboxException.describe(
              new IllegalStateException(
                  "cannot apply " + event.aggregateId() + "\r\n" + event.eventType()));
      String wire = h.getFirst(OutboxHeaders.ERROR);
      assertThat(wire.length()).isLessThanOrEqualTo(MessageProcessor.MAX_ERROR_LENGTH);
      String decoded = HeaderValues.decode(wire);
      if (HeaderValues.encode(reason).length() <= MessageProcessor.MAX_ERROR_LENGTH) {
        assertThat(decoded).isEqualTo(reason);
      } else {
        assertThat(decoded).endsWith("...");
        assertThat(reason).startsWith(decoded.substring(0, decoded.length() - 3));
        assertThat(decoded.length()).isGreaterThan(30);
      }
      assertThat(HeaderValues.decode(h.getFirst(OutboxHeaders.ERROR_KIND)))
          .isEqualTo(IllegalStateException.class.getName());
      assertThat(HeaderValues.decode(h.getFirst(OutboxHeaders.ORIGINAL_SUBJECT)))
          .isEqualTo(stream.relay().subject(event));
      assertThat(HeaderValues.decode(h.getFirst(OutboxHeaders.AGGREGATE_ID)))
          .isEqualTo(event.aggregateId());
      event
          .headers()
          .forEach(
              (name, value) ->
                  assertThat(HeaderValues.decode(h.getFirst(name))).as(name).isEqualTo(value));
    }
  }

  private static double counter(SimpleMeterRegistry registry, String outcome) {
    var c =
        registry
            .find("outboxkit.consumer.messages")
            .tag("consumer", "hostile")
            .tag("outcome", outcome)
            .counter();
    return c == null ? 0 : c.count();
  }

  /** The dead letters on {@code subject} by original id (the part after {@code dlq-<name>-}). */
  private static Map<String, Headers> deadLetters(TestStream stream, String subject)
      throws Exception {
    JetStreamManagement jsm = infra.nats().jetStreamManagement();
    long last = jsm.getStreamInfo(stream.name()).getStreamState().getLastSequence();
    Map<String, Headers> byId = new HashMap<>();
    List<String> duplicates = new ArrayList<>();
    for (long seq = 1; seq <= last; seq++) {
      MessageInfo m;
      try {
        m = jsm.getMessage(stream.name(), seq);
      } catch (JetStreamApiException e) {
        continue; // deleted
      }
      if (subject.equals(m.getSubject())) {
        String id = m.getHeaders().getFirst(OutboxHeaders.MSG_ID).replace("dlq-hostile-", "");
        if (byId.put(id, m.getHeaders()) != null) {
          duplicates.add(id);
        }
      }
    }
    assertThat(duplicates).as("dead letters stored twice").isEmpty();
    return byId;
  }
}
