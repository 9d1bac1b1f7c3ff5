package io.outboxkit.sample.meter;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.outboxkit.testing.TestInfra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The meter service over HTTP against a real PostgreSQL: every bad input is refused with the field
 * named, and a refused request leaves no row behind, neither business row nor outbox row.
 */
class MeterApiIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static EmbeddedServer server;

  /** A valid time: the last full quarter hour, a day ago. */
  static final Instant T = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(1, ChronoUnit.DAYS);

  @BeforeAll
  static void start() {
    server = ApplicationContext.run(EmbeddedServer.class, appProperties(infra));
  }

  static Map<String, Object> appProperties(TestInfra infra) {
    return Map.of(
        "datasources.default.url", infra.jdbcUrl(),
        "datasources.default.username", infra.pgUser(),
        "datasources.default.password", infra.pgPassword(),
        "micronaut.server.port", -1,
        "meter.max-batch-size", 20);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @BeforeEach
  void clean() {
    infra.jdbi().useHandle(h -> h.execute("TRUNCATE reading, meter, outbox"));
    assertThat(post("/meters", meter("m-1", "a-1", "f-1", "residential-tou")).statusCode())
        .isEqualTo(201);
    assertThat(post("/meters", meter("m-2", "a-2", "f-1", "commercial-tou")).statusCode())
        .isEqualTo(201);
  }

  // --- the happy paths -------------------------------------------------------------------------

  @Test
  void aReadingIsStoredWithItsEventInOneTransaction() throws Exception {
    HttpResponse<String> r =
        post("/meters/m-1/readings", "{\"readingAt\":\"" + T + "\",\"kwh\":1.25}");

    assertThat(r.statusCode()).isEqualTo(201);
    assertThat(json(r).path("recorded").asInt()).isEqualTo(1);
    assertThat(count("reading")).isEqualTo(1);
    List<Map<String, Object>> events =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.createQuery(
                            "SELECT aggregate_type, aggregate_id, event_type,"
                                + " convert_from(payload, 'UTF8') AS body FROM outbox"
                                + " WHERE event_type = 'ReadingRecorded'")
                        .mapToMap()
                        .list());
    assertThat(events).hasSize(1);
    assertThat(events.get(0)).containsEntry("aggregate_type", "meter");
    assertThat(events.get(0)).containsEntry("aggregate_id", "m-1");
    JsonNode body = JSON.readTree((String) events.get(0).get("body"));
    assertThat(body.path("accountId").asText()).isEqualTo("a-1");
    assertThat(body.path("feederId").asText()).isEqualTo("f-1");
    assertThat(body.path("tariff").asText()).isEqualTo("residential-tou");
    assertThat(Instant.parse(body.path("readingAt").asText())).isEqualTo(T);
    assertThat(Instant.parse(body.path("intervalStart").asText()))
        .isEqualTo(T.minus(15, ChronoUnit.MINUTES));
    assertThat(body.path("kwh").decimalValue()).isEqualByComparingTo("1.25");
  }

  @Test
  void registrationWritesOneMeterRegisteredEventAndRepeatingItIsANoOp() {
    assertThat(post("/meters", meter("m-1", "a-1", "f-1", "residential-tou")).statusCode())
        .isEqualTo(200);
    assertThat(count("outbox")).isEqualTo(2); // m-1 and m-2, once each
  }

  @Test
  void aBatchIsStoredWholeWithOneEventPerReading() throws Exception {
    HttpResponse<String> r =
        post(
            "/readings",
            batch(
                reading("m-1", T, "1"),
                reading("m-2", T, "2.5"),
                reading("m-1", T.plus(15, ChronoUnit.MINUTES), "0")));
    assertThat(r.statusCode()).isEqualTo(201);
    assertThat(json(r).path("recorded").asInt()).isEqualTo(3);
    assertThat(count("reading")).isEqualTo(3);
    assertThat(readingEvents()).isEqualTo(3);
  }

  @Test
  void aRepeatedIdenticalReadingIsADuplicateWithoutASecondEvent() throws Exception {
    String body = batch(reading("m-1", T, "1.5"));
    assertThat(post("/readings", body).statusCode()).isEqualTo(201);
    HttpResponse<String> again =
        post(
            "/readings",
            batch(reading("m-1", T, "1.500"), reading("m-1", T.plus(15, ChronoUnit.MINUTES), "2")));

    assertThat(again.statusCode()).isEqualTo(201);
    assertThat(json(again).path("recorded").asInt()).isEqualTo(1);
    assertThat(json(again).path("duplicates").asInt()).isEqualTo(1);
    assertThat(count("reading")).isEqualTo(2);
    assertThat(readingEvents()).isEqualTo(2);
  }

  @Test
  void concurrentIdenticalBatchesRecordEachReadingOnce() throws Exception {
    List<String> readings = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      readings.add(
          reading(i % 2 == 0 ? "m-1" : "m-2", T.minus(15L * i, ChronoUnit.MINUTES), "1.1"));
    }
    String body = batch(readings.toArray(String[]::new));
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Callable<HttpResponse<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        calls.add(() -> post("/readings", body));
      }
      int recorded = 0;
      for (Future<HttpResponse<String>> f : pool.invokeAll(calls)) {
        assertThat(f.get().statusCode()).isIn(200, 201);
        recorded += json(f.get()).path("recorded").asInt();
      }
      assertThat(recorded).isEqualTo(20);
    } finally {
      pool.shutdownNow();
    }
    assertThat(count("reading")).isEqualTo(20);
    assertThat(readingEvents()).isEqualTo(20);
  }

  @Test
  void monthlyTotalsCountAReadingInTheMonthItsIntervalStartsIn() throws Exception {
    Instant feb1 = Instant.parse("2025-02-01T00:00:00Z");
    post(
        "/readings",
        batch(reading("m-1", feb1, "1"), reading("m-1", feb1.plus(15, ChronoUnit.MINUTES), "2")));

    JsonNode totals = json(get("/meters/m-1/totals?period=month"));
    assertThat(totals.path("totals").get(0).path("periodStart").asText()).isEqualTo("2025-01-01");
    assertThat(totals.path("totals").get(0).path("kwh").decimalValue()).isEqualByComparingTo("1");
    assertThat(totals.path("totals").get(1).path("periodStart").asText()).isEqualTo("2025-02-01");
    assertThat(totals.path("totals").get(1).path("kwh").decimalValue()).isEqualByComparingTo("2");

    JsonNode all = json(get("/totals"));
    assertThat(all.path("readings").asLong()).isEqualTo(2);
    assertThat(all.path("feeders").get(0).path("intervalStart").asText())
        .isEqualTo("2025-01-31T23:45:00Z");
  }

  @Test
  void readingsOfAWindowAreListedByIntervalStartPageByPageWithTheirMeter() throws Exception {
    Instant feb1 = Instant.parse("2025-02-01T00:00:00Z");
    List<String> all = new ArrayList<>();
    for (int q = 0; q < 4; q++) {
      Instant at = feb1.plus(15L * q, ChronoUnit.MINUTES);
      all.add(reading("m-1", at, "1." + q));
      all.add(reading("m-2", at, "2." + q));
    }
    assertThat(post("/readings", batch(all.toArray(String[]::new))).statusCode()).isEqualTo(201);

    // [Feb 1 00:00, 00:45) by interval start = readings at 00:15, 00:30, 00:45 (00:00 is
    // January's last interval).
    String window = "/readings?from=2025-02-01T00:00:00Z&to=2025-02-01T00:45:00Z";
    List<String> seen = new ArrayList<>();
    JsonNode page = json(get(window + "&limit=3"));
    while (true) {
      page.path("readings")
          .forEach(
              r ->
                  seen.add(
                      r.path("meterId").asText()
                          + " "
                          + r.path("intervalStart").asText()
                          + " "
                          + r.path("accountId").asText()
                          + " "
                          + r.path("feederId").asText()
                          + " "
                          + r.path("tariff").asText()
                          + " "
                          + r.path("kwh").decimalValue().toPlainString()));
      JsonNode next = page.path("next");
      if (next.isNull() || next.isMissingNode()) {
        break;
      }
      page =
          json(
              get(
                  window
                      + "&limit=3&afterReadingAt="
                      + next.path("readingAt").asText()
                      + "&afterMeterId="
                      + next.path("meterId").asText()));
    }
    assertThat(seen)
        .containsExactly(
            "m-1 2025-02-01T00:00:00Z a-1 f-1 residential-tou 1.1",
            "m-2 2025-02-01T00:00:00Z a-2 f-1 commercial-tou 2.1",
            "m-1 2025-02-01T00:15:00Z a-1 f-1 residential-tou 1.2",
            "m-2 2025-02-01T00:15:00Z a-2 f-1 commercial-tou 2.2",
            "m-1 2025-02-01T00:30:00Z a-1 f-1 residential-tou 1.3",
            "m-2 2025-02-01T00:30:00Z a-2 f-1 commercial-tou 2.3");
    assertThat(fields(get("/readings?from=2025-02-01T00:00:00Z"))).contains("to");
    assertThat(fields(get("/readings?from=2025-02-01T01:00:00Z&to=2025-02-01T00:00:00Z")))
        .contains("to");
    assertThat(fields(get(window + "&afterMeterId=m-1"))).contains("afterReadingAt");
  }

  // --- refusals: status, the field, and nothing written -----------------------------------------

  static Stream<Arguments> badBatches() {
    String ok = reading("m-1", T, "1");
    String[] tooMany = new String[21];
    for (int i = 0; i < tooMany.length; i++) {
      tooMany[i] = reading("m-1", T.minus(15L * i, ChronoUnit.MINUTES), "1");
    }
    return Stream.of(
        Arguments.of("malformed JSON", "{\"readings\": [", "body"),
        Arguments.of("trailing garbage", batch(ok) + " x", "body"),
        Arguments.of("not an object", "[1,2]", "body"),
        Arguments.of("empty body", "", "body"),
        Arguments.of("no readings", "{}", "readings"),
        Arguments.of("readings not a list", "{\"readings\": 3}", "readings"),
        Arguments.of("empty batch", "{\"readings\": []}", "readings"),
        Arguments.of("oversized batch", batch(tooMany), "readings"),
        Arguments.of(
            "unknown field",
            "{\"readings\":[{\"meterId\":\"m-1\",\"readingAt\":\"" + T + "\",\"kWh\":1}]}",
            "readings[0].kWh"),
        Arguments.of("negative kWh", batch(ok, reading("m-2", T, "-0.5")), "readings[1].kwh"),
        Arguments.of("absurd kWh", batch(ok, reading("m-2", T, "501")), "readings[1].kwh"),
        Arguments.of(
            "more than Wh precision", batch(ok, reading("m-2", T, "0.0004")), "readings[1].kwh"),
        Arguments.of("kWh as a string", batch(ok, reading("m-2", T, "\"1\"")), "readings[1].kwh"),
        Arguments.of(
            "kWh missing",
            "{\"readings\":[{\"meterId\":\"m-1\",\"readingAt\":\"" + T + "\"}]}",
            "readings[0].kwh"),
        Arguments.of(
            "future time",
            batch(
                ok,
                reading(
                    "m-2",
                    Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.HOURS),
                    "1")),
            "readings[1].readingAt"),
        Arguments.of(
            "not on a quarter hour",
            batch(ok, reading("m-2", T.plusSeconds(60), "1")),
            "readings[1].readingAt"),
        Arguments.of(
            "no UTC offset",
            "{\"readings\":[{\"meterId\":\"m-1\",\"readingAt\":\"2025-01-01T00:15:00\",\"kwh\":1}]}",
            "readings[0].readingAt"),
        Arguments.of(
            "before 2000",
            batch(ok, reading("m-2", Instant.parse("1999-12-31T23:45:00Z"), "1")),
            "readings[1].readingAt"),
        Arguments.of("bad meter id", batch(ok, reading("m 2", T, "1")), "readings[1].meterId"),
        Arguments.of("unknown meter", batch(ok, reading("m-404", T, "1")), "readings[1].meterId"),
        Arguments.of(
            "same meter and time twice",
            batch(ok, reading("m-1", T, "1")),
            "readings[1].readingAt"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badBatches")
  void aBadBatchIsRefusedWholeNamingTheField(String why, String body, String field)
      throws Exception {
    long outboxBefore = count("outbox");
    HttpResponse<String> r = post("/readings", body);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(fields(r)).as(r.body()).contains(field);
    assertThat(json(r).path("message").asText()).contains(field);
    assertThat(count("reading")).isZero();
    assertThat(count("outbox")).isEqualTo(outboxBefore);
  }

  static Stream<Arguments> badSingleReadings() {
    return Stream.of(
        Arguments.of("m-1", "{\"readingAt\":\"" + T + "\",\"kwh\":-1}", "kwh"),
        Arguments.of("m-1", "{\"readingAt\":\"yesterday\",\"kwh\":1}", "readingAt"),
        Arguments.of("m-1", "{\"readingAt\":\"" + T + "\"", "body"),
        Arguments.of(
            "m-1", "{\"meterId\":\"m-2\",\"readingAt\":\"" + T + "\",\"kwh\":1}", "meterId"),
        Arguments.of("m-404", "{\"readingAt\":\"" + T + "\",\"kwh\":1}", "meterId"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("badSingleReadings")
  void aBadSingleReadingIsRefusedNamingTheField(String meter, String body, String field)
      throws Exception {
    HttpResponse<String> r = post("/meters/" + meter + "/readings", body);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    assertThat(fields(r)).as(r.body()).contains(field);
    assertThat(count("reading")).isZero();
    assertThat(readingEvents()).isZero();
  }

  @Test
  void aChangedValueForAStoredReadingIsAConflictAndTheRestOfTheBatchIsNotWritten()
      throws Exception {
    post("/readings", batch(reading("m-1", T, "1")));
    HttpResponse<String> r =
        post("/readings", batch(reading("m-2", T, "3"), reading("m-1", T, "1.001")));

    assertThat(r.statusCode()).isEqualTo(409);
    assertThat(fields(r)).containsExactly("readings[1].kwh");
    assertThat(count("reading")).isEqualTo(1);
    assertThat(readingEvents()).isEqualTo(1);
  }

  static Stream<Arguments> badMeters() {
    return Stream.of(
        Arguments.of(meter("m 3", "a-3", "f-1", "residential-tou"), "meterId", 400),
        Arguments.of(meter("m-3", "", "f-1", "residential-tou"), "accountId", 400),
        Arguments.of(
            "{\"meterId\":\"m-3\",\"accountId\":\"a\",\"tariff\":\"residential-tou\"}",
            "feederId",
            400),
        Arguments.of(meter("m-3", "a-3", "f-1", "gold"), "tariff", 400),
        Arguments.of("{\"meterId\":\"m-3\"", "body", 400),
        Arguments.of(meter("m-1", "a-9", "f-1", "residential-tou"), "meterId", 409));
  }

  @ParameterizedTest(name = "{1} {2}")
  @MethodSource("badMeters")
  void aBadRegistrationIsRefusedNamingTheField(String body, String field, int status)
      throws Exception {
    HttpResponse<String> r = post("/meters", body);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(fields(r)).as(r.body()).contains(field);
    assertThat(count("meter")).isEqualTo(2);
    assertThat(count("outbox")).isEqualTo(2);
  }

  @Test
  void queriesRefuseBadParametersAndUnknownMeters() throws Exception {
    assertThat(get("/meters/m-404").statusCode()).isEqualTo(404);
    assertThat(fields(get("/meters/m-1/readings?from=monday"))).contains("from");
    assertThat(fields(get("/meters/m-1/readings?limit=0"))).contains("limit");
    assertThat(fields(get("/meters/m-1/totals?period=year"))).contains("period");
    assertThat(fields(get("/meters/m-1/totals?zone=Mars/Base"))).contains("zone");
  }

  // --- helpers ----------------------------------------------------------------------------------

  static String meter(String id, String account, String feeder, String tariff) {
    return String.format(
        "{\"meterId\":\"%s\",\"accountId\":\"%s\",\"feederId\":\"%s\",\"tariff\":\"%s\"}",
        id, account, feeder, tariff);
  }

  static String reading(String meterId, Instant at, String kwh) {
    return String.format("{\"meterId\":\"%s\",\"readingAt\":\"%s\",\"kwh\":%s}", meterId, at, kwh);
  }

  static String batch(String... readings) {
    return "{\"readings\":[" + String.join(",", readings) + "]}";
  }

  static long count(String table) {
    return infra
        .jdbi()
        .withHandle(h -> h.createQuery("SELECT count(*) FROM " + table).mapTo(Long.class).one());
  }

  static long readingEvents() {
    return infra
        .jdbi()
        .withHandle(
            h ->
                h.createQuery("SELECT count(*) FROM outbox WHERE event_type = 'ReadingRecorded'")
                    .mapTo(Long.class)
                    .one());
  }

  static List<String> fields(HttpResponse<String> r) throws Exception {
    List<String> fields = new ArrayList<>();
    json(r).path("errors").forEach(e -> fields.add(e.path("field").asText()));
    return fields;
  }

  static JsonNode json(HttpResponse<String> r) throws Exception {
    return JSON.readTree(r.body());
  }

  static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.getPort() + path);
  }

  static HttpResponse<String> post(String path, String body) {
    return send(
        HttpRequest.newBuilder(uri(path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
            .build());
  }

  static HttpResponse<String> get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).GET().build());
  }

  static HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
