package io.outboxkit.relay;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.UuidV7;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Tuple;
import net.jqwik.api.sessions.JqwikSession;

/**
 * Generated outbox rows as writers in any language can write them through SQL: any Unicode the
 * table's checks allow in the text columns (astral characters, combining marks, CR/LF, controls
 * other than NUL, 1..255 characters), random header maps (values any Unicode, numbers, booleans,
 * nulls; some names NATS cannot carry, some reserved, some values objects or arrays), random
 * payload bytes, subjects that are too long, payloads that are too large, and plain rows between
 * them.
 *
 * <p>Generation is deterministic for a seed (jqwik's {@link JqwikSession} with that seed), so a
 * failing run can be repeated. The rows say what they were made to be ({@link Shape}); what the
 * relay must do with them is decided by {@link HostileRowsIT}'s oracle from the row as stored.
 */
final class HostileRows {
  /** What a row was generated to be. */
  enum Shape {
    PLAIN,
    RANDOM,
    RESERVED_HEADER,
    INVALID_HEADER_NAME,
    STRUCTURED_HEADER_VALUE,
    TWO_BAD_HEADERS,
    LONG_SUBJECT,
    LARGE_PAYLOAD,
    BAD_HEADER_LONG_SUBJECT_LARGE_PAYLOAD,
    LONG_SUBJECT_LARGE_PAYLOAD,
    SUBJECT_AT_LIMIT,
    SUBJECT_OVER_LIMIT
  }

  /** One row; {@code headersJson} may be null. */
  record Row(
      String id,
      Shape shape,
      String aggregateType,
      String aggregateId,
      String eventType,
      byte[] payload,
      String headersJson) {}

  /** One header of a row's JSON: a name and any JSON value. */
  record Header(String name, Object value) {}

  /** One writer transaction; rolled back when {@code commit} is false. */
  record Tx(List<Row> rows, boolean commit) {}

  /** The longest subject the relay publishes (UTF-8 bytes); longer ones are dead-lettered. */
  static final int MAX_SUBJECT_BYTES = 3968;

  /** Largest payload of a row meant to fit; must stay well below max_payload minus headers. */
  static final int MAX_FITTING_PAYLOAD = 24 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> RESERVED =
      List.of(
          "Nats-Rollup",
          "Nats-TTL",
          "Nats-Expected-Last-Sequence",
          "Nats-Expected-Stream",
          "Nats-Expected-Last-Msg-Id",
          "Nats-Expected-Last-Subject-Sequence",
          "nats-msg-id",
          "Nats-Msg-Id",
          "Outbox-Id",
          "Outbox-Error-Kind",
          "Outbox-Aggregate-Type",
          "outbox-anything");

  private final String prefix;
  private final long maxPayload;

  /**
   * @param prefix the subject template's literal first token
   * @param maxPayload the NATS server's max_payload
   */
  HostileRows(String prefix, long maxPayload) {
    this.prefix = prefix;
    this.maxPayload = maxPayload;
  }

  /**
   * About {@code rows} rows in transactions of 1..4 rows for each of {@code writers} writers. A row
   * that is meant to be dead-lettered ends its transaction, and the writer's next transaction
   * starts with a plain row. About 2% of the transactions roll back.
   */
  List<List<Tx>> generate(long seed, int writers, int rows) {
    List<List<Tx>> out = new ArrayList<>();
    JqwikSession.run(
        Long.toString(seed),
        () -> {
          Arbitrary<Shape> shapes =
              Arbitraries.frequency(
                  Tuple.of(25, Shape.PLAIN),
                  Tuple.of(50, Shape.RANDOM),
                  Tuple.of(5, Shape.RESERVED_HEADER),
                  Tuple.of(5, Shape.INVALID_HEADER_NAME),
                  Tuple.of(3, Shape.STRUCTURED_HEADER_VALUE),
                  Tuple.of(2, Shape.TWO_BAD_HEADERS),
                  Tuple.of(4, Shape.LONG_SUBJECT),
                  Tuple.of(2, Shape.LARGE_PAYLOAD),
                  Tuple.of(1, Shape.BAD_HEADER_LONG_SUBJECT_LARGE_PAYLOAD),
                  Tuple.of(1, Shape.LONG_SUBJECT_LARGE_PAYLOAD));
          Arbitrary<Integer> txSize = Arbitraries.integers().between(1, 4);
          Arbitrary<Boolean> commit = Arbitraries.frequency(Tuple.of(98, true), Tuple.of(2, false));
          for (int w = 0; w < writers; w++) {
            List<Tx> txs = new ArrayList<>();
            int written = 0;
            boolean plainNext = false;
            // Each writer also writes the two rows at the subject limit (3968 and 3969 bytes).
            List<Shape> fixed = new ArrayList<>(List.of(Shape.SUBJECT_AT_LIMIT));
            if (w == 0) {
              fixed.add(Shape.SUBJECT_OVER_LIMIT);
            }
            while (written < rows / writers) {
              int size = txSize.sample();
              List<Row> tx = new ArrayList<>(size);
              for (int i = 0; i < size; i++) {
                Shape shape;
                if (plainNext) {
                  shape = Shape.PLAIN;
                  plainNext = false;
                } else if (!fixed.isEmpty() && written > rows / writers / 2) {
                  shape = fixed.remove(0);
                } else {
                  shape = shapes.sample();
                }
                tx.add(row(shape));
                written++;
                if (shape != Shape.PLAIN && shape != Shape.RANDOM) {
                  plainNext = true;
                  break;
                }
              }
              txs.add(new Tx(tx, commit.sample()));
            }
            // A last plain row: the tail of every writer must arrive too.
            txs.add(new Tx(List.of(row(Shape.PLAIN)), true));
            out.add(txs);
          }
        });
    return out;
  }

  private Row row(Shape shape) {
    String id = UuidV7.next().toString();
    return switch (shape) {
      case PLAIN ->
          new Row(
              id,
              shape,
              "meter",
              "m-" + Arbitraries.integers().between(1, 500).sample(),
              "ReadingRecorded",
              ("{\"kwh\":" + Arbitraries.integers().between(0, 9999).sample() + "}")
                  .getBytes(StandardCharsets.UTF_8),
              "{\"traceparent\": \"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}");
      case RANDOM ->
          new Row(
              id,
              shape,
              text(1, 255).sample(),
              text(1, 255).sample(),
              text(1, 255).sample(),
              payload().sample(),
              headers());
      case RESERVED_HEADER -> randomWithBadHeaders(id, shape, List.of(reservedHeader()));
      case INVALID_HEADER_NAME -> randomWithBadHeaders(id, shape, List.of(invalidNameHeader()));
      case STRUCTURED_HEADER_VALUE ->
          randomWithBadHeaders(id, shape, List.of(structuredValueHeader()));
      case TWO_BAD_HEADERS ->
          randomWithBadHeaders(id, shape, List.of(anyBadHeader(), anyBadHeader()));
      case LONG_SUBJECT ->
          new Row(
              id,
              shape,
              heavyText(200, 255),
              text(1, 255).sample(),
              heavyText(200, 255),
              payload().sample(),
              headers());
      case LARGE_PAYLOAD ->
          new Row(
              id,
              shape,
              text(1, 40).sample(),
              text(1, 255).sample(),
              text(1, 40).sample(),
              largePayload(),
              headers());
      case BAD_HEADER_LONG_SUBJECT_LARGE_PAYLOAD ->
          new Row(
              id,
              shape,
              heavyText(200, 255),
              text(1, 255).sample(),
              heavyText(200, 255),
              largePayload(),
              json(goodHeaders(), List.of(anyBadHeader())));
      case LONG_SUBJECT_LARGE_PAYLOAD ->
          new Row(
              id,
              shape,
              heavyText(200, 255),
              text(1, 255).sample(),
              heavyText(200, 255),
              largePayload(),
              headers());
      case SUBJECT_AT_LIMIT -> atLimit(id, shape, 0);
      case SUBJECT_OVER_LIMIT -> atLimit(id, shape, 1);
    };
  }

  private Row randomWithBadHeaders(String id, Shape shape, List<Header> bad) {
    return new Row(
        id,
        shape,
        text(1, 120).sample(),
        text(1, 255).sample(),
        text(1, 120).sample(),
        payload().sample(),
        json(goodHeaders(), bad));
  }

  /**
   * A row whose subject is exactly {@link #MAX_SUBJECT_BYTES} + {@code extra} bytes: 255 CJK
   * characters (9 bytes each as a token) as aggregate type, an event type of CJK characters padded
   * with ASCII letters.
   */
  private Row atLimit(String id, Shape shape, int extra) {
    String aggregateType = "語".repeat(255);
    int rest = MAX_SUBJECT_BYTES + extra - prefix.length() - 2 - 255 * 9;
    int cjk = Math.min(rest / 9, 250);
    String eventType = "語".repeat(cjk) + "x".repeat(rest - cjk * 9);
    if (eventType.codePointCount(0, eventType.length()) > 255) {
      throw new IllegalStateException("prefix too short for the subject limit row: " + prefix);
    }
    return new Row(
        id, shape, aggregateType, "limit-" + extra, eventType, new byte[] {'{', '}'}, headers());
  }

  // ---- text ----------------------------------------------------------------------------------

  /** One code point: any Unicode scalar value except NUL, weighted towards the hostile ones. */
  private static final Arbitrary<Integer> CODE_POINT =
      Arbitraries.frequencyOf(
          Tuple.of(20, Arbitraries.integers().between(0x20, 0x7E)), // printable ASCII, % and space
          Tuple.of(15, Arbitraries.of(alnum())), // subject-safe characters
          Tuple.of(8, Arbitraries.integers().between(0xA0, 0xFF)), // Latin-1: umlauts, NBSP
          Tuple.of(4, Arbitraries.of(0x0D, 0x0A, 0x09)), // CR, LF, TAB
          Tuple.of(4, Arbitraries.integers().between(0x01, 0x1F)), // C0 controls without NUL
          Tuple.of(2, Arbitraries.integers().between(0x7F, 0x9F)), // DEL and C1 controls
          Tuple.of(6, Arbitraries.integers().between(0x0300, 0x036F)), // combining marks
          Tuple.of(6, Arbitraries.integers().between(0x4E00, 0x9FFF)), // CJK, 3 bytes
          Tuple.of(5, Arbitraries.integers().between(0x0100, 0xD7FF)), // rest of the BMP
          Tuple.of(3, Arbitraries.integers().between(0xE000, 0xFFFF)), // private use, BOM, U+FFFF
          Tuple.of(2, Arbitraries.of(0x200B, 0x200D, 0x200E, 0x202E, 0xFEFF, 0x2028)),
          Tuple.of(6, Arbitraries.integers().between(0x1F300, 0x1FAFF)), // emoji
          Tuple.of(4, Arbitraries.integers().between(0x10000, 0x10FFFF))); // any astral

  private static final Map<List<Integer>, Arbitrary<String>> TEXTS = new ConcurrentHashMap<>();

  private static List<Integer> alnum() {
    List<Integer> cps = new ArrayList<>();
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".chars().forEach(cps::add);
    return cps;
  }

  /** Text of {@code min..max} characters (code points, as PostgreSQL counts them). */
  static Arbitrary<String> text(int min, int max) {
    return TEXTS.computeIfAbsent(List.of(min, max), k -> newText(min, max));
  }

  private static Arbitrary<String> newText(int min, int max) {
    Arbitrary<Integer> length =
        Arbitraries.frequencyOf(
            Tuple.of(60, Arbitraries.integers().between(min, Math.min(max, 20))),
            Tuple.of(25, Arbitraries.integers().between(min, Math.min(max, 120))),
            Tuple.of(10, Arbitraries.integers().between(min, max)),
            Tuple.of(5, Arbitraries.of(min, max)));
    Arbitrary<String> random =
        length.flatMap(n -> CODE_POINT.list().ofSize(n)).map(HostileRows::fromCodePoints);
    Arbitrary<String> special =
        Arbitraries.of(
                "UTF-8''Z%C3%BCrich",
                "UTF-8''",
                " leading",
                "trailing ",
                " ",
                "%41",
                "\r\n",
                "a\rb\nc",
                "Zählerstand Süd",
                "e\u0301\u0301\u0301",
                "\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67",
                "a.b*c>d",
                "\t")
            .filter(s -> s.codePointCount(0, s.length()) >= min);
    return Arbitraries.frequencyOf(Tuple.of(9, random), Tuple.of(1, special))
        .filter(s -> s.codePointCount(0, s.length()) <= max);
  }

  /** Text of {@code min..max} characters that encode to many subject bytes (3 and 4 byte chars). */
  private static String heavyText(int min, int max) {
    return Arbitraries.integers()
        .between(min, max)
        .flatMap(
            n ->
                Arbitraries.frequencyOf(
                        Tuple.of(3, Arbitraries.integers().between(0x4E00, 0x9FFF)),
                        Tuple.of(2, Arbitraries.integers().between(0x1F300, 0x1FAFF)),
                        Tuple.of(1, CODE_POINT))
                    .list()
                    .ofSize(n))
        .map(HostileRows::fromCodePoints)
        .sample();
  }

  private static String fromCodePoints(List<Integer> cps) {
    StringBuilder sb = new StringBuilder(cps.size() * 2);
    cps.forEach(sb::appendCodePoint);
    return sb.toString();
  }

  // ---- payloads ------------------------------------------------------------------------------

  private static Arbitrary<byte[]> payload() {
    return Arbitraries.frequencyOf(
            Tuple.of(70, Arbitraries.integers().between(0, 256)),
            Tuple.of(25, Arbitraries.integers().between(257, 4096)),
            Tuple.of(5, Arbitraries.integers().between(4097, MAX_FITTING_PAYLOAD)))
        .flatMap(n -> Arbitraries.randomValue(r -> bytes(r, n)));
  }

  private byte[] largePayload() {
    int n = Arbitraries.integers().between((int) maxPayload + 1, (int) maxPayload + 8192).sample();
    return Arbitraries.randomValue(r -> bytes(r, n)).sample();
  }

  private static byte[] bytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  // ---- headers -------------------------------------------------------------------------------

  /** Header JSON of 0..6 valid headers, or (one time in ten) no headers at all. */
  private static String headers() {
    if (Arbitraries.integers().between(0, 9).sample() == 0) {
      return null;
    }
    return json(goodHeaders(), List.of());
  }

  /** 0..6 headers with names NATS can carry, not reserved, and scalar (or null) values. */
  private static List<Header> goodHeaders() {
    int n = Arbitraries.integers().between(0, 6).sample();
    List<Header> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Header(validName().sample(), scalarValue(true).sample()));
    }
    return out;
  }

  /** A name of printable ASCII without ':' that is not reserved. */
  private static Arbitrary<String> validName() {
    return Arbitraries.strings()
        .withCharRange('!', '~')
        .excludeChars(':')
        .ofMinLength(1)
        .ofMaxLength(40)
        .filter(n -> !OutboxHeaders.isReserved(n));
  }

  /** A JSON scalar: any Unicode string, a number, a boolean, or (when allowed) null. */
  private static Arbitrary<Object> scalarValue(boolean allowNull) {
    List<net.jqwik.api.Tuple.Tuple2<Integer, Arbitrary<?>>> choices = new ArrayList<>();
    choices.add(Tuple.of(70, text(0, 120)));
    choices.add(Tuple.of(8, Arbitraries.longs()));
    choices.add(
        Tuple.of(
            6,
            Arbitraries.of(
                new java.math.BigDecimal("1.50"),
                new java.math.BigDecimal("-0.001"),
                new java.math.BigDecimal("1E+3"),
                new java.math.BigDecimal("12345678901234567890.123456789"))));
    choices.add(Tuple.of(6, Arbitraries.of(true, false)));
    if (allowNull) {
      choices.add(Tuple.of(4, Arbitraries.just(JsonNodeFactory.instance.nullNode())));
    }
    @SuppressWarnings({"unchecked", "rawtypes"})
    Arbitrary<Object> value = Arbitraries.frequencyOf((List) choices);
    return value;
  }

  private static Header anyBadHeader() {
    return switch (Arbitraries.integers().between(0, 2).sample()) {
      case 0 -> reservedHeader();
      case 1 -> invalidNameHeader();
      default -> structuredValueHeader();
    };
  }

  /** A reserved name in a random letter case, with a value that would steer JetStream. */
  private static Header reservedHeader() {
    String name = Arbitraries.of(RESERVED).sample();
    StringBuilder cased = new StringBuilder(name.length());
    for (char c : name.toCharArray()) {
      int pick = Arbitraries.integers().between(0, 3).sample();
      cased.append(pick == 0 ? Character.toUpperCase(c) : pick == 1 ? Character.toLowerCase(c) : c);
    }
    String lower = name.toLowerCase(Locale.ROOT);
    Object value;
    if (lower.equals("nats-rollup")) {
      value = Arbitraries.of("sub", "all").sample();
    } else if (lower.equals("nats-ttl")) {
      value = Arbitraries.of("1s", "never", "5").sample();
    } else if (lower.startsWith("nats-expected-last")) {
      value = Arbitraries.longs().between(0, 1_000_000).sample();
    } else {
      value = scalarValue(false).sample();
    }
    return new Header(cased.toString(), value);
  }

  /** A name NATS cannot carry (space, ':', non-ASCII or a control character), not reserved. */
  private static Header invalidNameHeader() {
    int bad =
        Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of((int) ' ', (int) ':', 0x7F)),
                Tuple.of(2, Arbitraries.integers().between(0x01, 0x1F)),
                Tuple.of(3, Arbitraries.integers().between(0xA0, 0x2FFF)),
                Tuple.of(2, Arbitraries.integers().between(0x1F300, 0x1FAFF)))
            .sample();
    String name;
    do {
      name =
          Arbitraries.strings().withCharRange('a', 'z').ofMaxLength(12).sample()
              + new String(Character.toChars(bad))
              + Arbitraries.strings().withCharRange('a', 'z').ofMaxLength(12).sample();
    } while (OutboxHeaders.isReserved(name));
    return new Header(name, scalarValue(false).sample());
  }

  /** A valid, unreserved name whose value is a JSON object or array. */
  private static Header structuredValueHeader() {
    Object value =
        Arbitraries.of(
                JSON.createObjectNode().put("nested", "x"),
                JSON.createArrayNode().add(1).add("two"),
                JSON.createArrayNode(),
                JSON.createObjectNode())
            .sample();
    return new Header(validName().sample(), value);
  }

  /**
   * The headers as a JSON object; names are unique ignoring letter case (a later duplicate is
   * dropped, the bad ones come first so that they stay), so the row's header map is unambiguous.
   * PostgreSQL's jsonb then orders the keys its own way: the oracle reads them back from the table.
   */
  private static String json(List<Header> good, List<Header> bad) {
    ObjectNode node = JSON.createObjectNode();
    Set<String> seen = new HashSet<>();
    List<Header> all = new ArrayList<>(bad);
    all.addAll(good);
    for (Header h : all) {
      String name = h.name();
      if (!seen.add(name.toLowerCase(Locale.ROOT))) {
        continue;
      }
      node.set(name, JSON.valueToTree(h.value()));
    }
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
