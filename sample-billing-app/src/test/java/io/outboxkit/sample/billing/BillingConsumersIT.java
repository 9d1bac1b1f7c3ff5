package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.outboxkit.testing.TestInfra;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The billing service's two consumers against a real NATS JetStream and PostgreSQL, fed by a
 * relay-like publisher: every reading is billed and loaded once, also when the stream holds an
 * event twice (republished after the duplicate window) and when the durable consumer is reset and
 * redelivers everything; a poison event is dead-lettered while the rest flows.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BillingConsumersIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final Duration WAIT = Duration.ofSeconds(90);
  static final Instant START = Instant.parse("2025-01-31T20:00:00Z");

  static EmbeddedServer server;
  static RelayLikePublisher relay;
  static JetStreamManagement jsm;
  static String stream;
  static final List<RelayLikePublisher.Published> published = new ArrayList<>();
  static final Map<String, BigDecimal[]> billed = new TreeMap<>();
  static final Map<String, BigDecimal[]> loaded = new TreeMap<>();

  @BeforeAll
  static void start() throws Exception {
    stream = infra.streamName();
    String prefix = infra.prefix();
    jsm = infra.nats().jetStreamManagement();
    jsm.addStream(
        StreamConfiguration.builder()
            .name(stream)
            .subjects(prefix + ".>", prefix + "-dlq.>")
            .storageType(StorageType.File)
            .duplicateWindow(Duration.ofMillis(500))
            .build());
    relay = new RelayLikePublisher(infra.nats().jetStream(), prefix);
    Map<String, Object> props = new HashMap<>();
    props.put("datasources.default.url", infra.jdbcUrl());
    props.put("datasources.default.username", infra.pgUser());
    props.put("datasources.default.password", infra.pgPassword());
    props.put("micronaut.server.port", -1);
    props.put("billing.nats-url", infra.natsUrl());
    props.put("billing.stream", stream);
    props.put("billing.billing-subject", prefix + ".meter.>");
    props.put("billing.grid-load-subject", prefix + ".meter.ReadingRecorded");
    props.put("billing.dead-letter-prefix", prefix + "-dlq.");
    props.put("billing.max-deliveries", 2);
    server = ApplicationContext.run(EmbeddedServer.class, props);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  record Meter(String meterId, String accountId, String feederId, String tariff) {}

  static final List<Meter> METERS =
      List.of(
          new Meter("m-0", "h-0", "f-0", "residential-tou"),
          new Meter("m-1", "h-1", "f-0", "residential-tou"),
          new Meter("m-2", "h-2", "f-1", "residential-tou"),
          new Meter("m-3", "c-0", "f-1", "commercial-tou"),
          new Meter("m-4", "c-0", "f-2", "commercial-tou"),
          new Meter("m-5", "h-5", "f-2", "residential-tou"));

  @Test
  @Order(1)
  void everyReadingIsBilledAndLoadedOnceAndAnswersSayHowFresh() throws Exception {
    for (Meter m : METERS) {
      published.add(
          relay.publish(
              m.meterId(),
              "MeterRegistered",
              Map.of(
                  "meterId", m.meterId(),
                  "accountId", m.accountId(),
                  "feederId", m.feederId(),
                  "tariff", m.tariff(),
                  "registeredAt", "2025-01-01T00:00:00Z")));
    }
    Random random = new Random(7);
    // 8 hours across the end of January: 16 readings per meter in January, 16 in February.
    for (int q = 1; q <= 32; q++) {
      Instant at = START.plusSeconds(900L * q);
      for (Meter m : METERS) {
        BigDecimal kwh = BigDecimal.valueOf(random.nextInt(3000), 3);
        publishReading(m, at, kwh);
      }
    }
    awaitConverged();

    // One hand-checked bill: m-0 in January had readings ending 20:15 .. 24:00 (16 readings),
    // peak 17-21 covers the intervals starting 20:00, 20:15, 20:30 and 20:45.
    JsonNode answer = getJson("/bills/h-0/2025-01");
    JsonNode bill = answer.path("bill");
    assertThat(bill.path("lines")).hasSize(2);
    JsonNode peak = bill.path("lines").get(0);
    assertThat(peak.path("band").asText()).isEqualTo("PEAK");
    assertThat(peak.path("readings").asLong()).isEqualTo(4);
    BigDecimal peakKwh = peak.path("kwh").decimalValue();
    assertThat(peak.path("amount").decimalValue())
        .isEqualByComparingTo(
            peakKwh.multiply(new BigDecimal("0.38")).setScale(2, java.math.RoundingMode.HALF_UP));
    JsonNode off = bill.path("lines").get(1);
    assertThat(off.path("readings").asLong()).isEqualTo(12);
    assertThat(bill.path("amount").decimalValue())
        .isEqualByComparingTo(
            peak.path("amount").decimalValue().add(off.path("amount").decimalValue()));
    assertThat(bill.path("kwh").decimalValue())
        .isEqualByComparingTo(billed.get("h-0 2025-01-01")[0]);

    JsonNode freshness = answer.path("freshness");
    assertThat(freshness.path("running").asBoolean()).isTrue();
    assertThat(freshness.path("pending").asLong()).isZero();
    assertThat(freshness.path("events").asLong()).isEqualTo(published.size());
    Instant newest =
        published.stream()
            .map(RelayLikePublisher.Published::committedAt)
            .max(Instant::compareTo)
            .orElseThrow();
    assertThat(Instant.parse(freshness.path("asOf").asText())).isEqualTo(newest);
    assertThat(freshness.path("lastLagMs").asLong()).isGreaterThanOrEqualTo(0);

    JsonNode curve = getJson("/feeders/f-0/load?from=2025-01-31T20:00:00Z&to=2025-02-01T04:00:00Z");
    JsonNode points = curve.path("curve").path("points");
    assertThat(points).hasSize(32);
    for (JsonNode p : points) {
      BigDecimal kwh = loaded.get("f-0 " + p.path("start").asText())[0];
      assertThat(p.path("kw").decimalValue())
          .isEqualByComparingTo(kwh.multiply(BigDecimal.valueOf(4)));
      assertThat(p.path("readings").asLong()).isEqualTo(2);
    }
    assertThat(curve.path("freshness").path("consumer").asText()).isEqualTo("grid-load");
    assertThat(getStatus("/bills/nobody/2025-01")).isEqualTo(404);
    JsonNode health = getJson("/health");
    assertThat(health.path("status").asText()).isEqualTo("UP");
    assertThat(health.path("details").path("consumers").path("details").path("billing").asText())
        .isEqualTo("running");
    assertThat(getStatus("/bills/h-0/January")).isEqualTo(400);
  }

  @Test
  @Order(2)
  void eventsInTheStreamTwiceAreAppliedOnce() throws Exception {
    long before = jsm.getStreamInfo(stream).getStreamState().getMsgCount();
    List<RelayLikePublisher.Published> again = published.subList(0, 60);
    for (RelayLikePublisher.Published p : again) {
      // The same Nats-Msg-Id again, once the stream's 500 ms duplicate window has let go of it:
      // what a relay replaying after a long outage would do.
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(50))
          .until(() -> !relay.republish(p).isDuplicate());
    }
    assertThat(jsm.getStreamInfo(stream).getStreamState().getMsgCount()).isEqualTo(before + 60);
    awaitNothingPending();
    awaitConverged();
  }

  @Test
  @Order(3)
  void aResetConsumerRedeliversEverythingAndNothingIsAppliedTwice() throws Exception {
    long lastSeq = jsm.getStreamInfo(stream).getStreamState().getLastSequence();
    for (String consumer : List.of("billing", "grid-load")) {
      ConsumerReset.delete(jsm, stream, consumer);
    }
    // The consumers set themselves up again from the start of the stream.
    await()
        .atMost(WAIT)
        .ignoreExceptions()
        .until(
            () -> {
              for (String consumer : List.of("billing", "grid-load")) {
                ConsumerInfo info = jsm.getConsumerInfo(stream, consumer);
                if (info.getAckFloor().getStreamSequence() < lastSeq
                    || info.getNumPending() + info.getNumAckPending() > 0) {
                  return false;
                }
              }
              return true;
            });
    awaitConverged();
  }

  @Test
  @Order(4)
  void aPoisonEventIsDeadLetteredWhileTheRestFlows() throws Exception {
    Meter gold = new Meter("m-9", "h-9", "f-9", "gold");
    Instant at = START.plusSeconds(900);
    // Billing cannot price an unknown tariff; grid load does not need the tariff.
    published.add(
        relay.publish(
            gold.meterId(), "ReadingRecorded", reading(gold, at, new BigDecimal("1.000"))));
    loaded.computeIfAbsent("f-9 " + at.minusSeconds(900), k -> zero())[0] = new BigDecimal("1.000");
    loaded.get("f-9 " + at.minusSeconds(900))[1] = BigDecimal.ONE;
    publishReading(METERS.get(0), START.plusSeconds(900L * 40), new BigDecimal("0.5"));

    awaitConverged();
    await()
        .atMost(WAIT)
        .until(
            () ->
                jsm.getStreamInfo(
                            stream,
                            io.nats.client.api.StreamInfoOptions.filterSubjects(
                                infra.prefix() + "-dlq.>"))
                        .getStreamState()
                        .getSubjectMap()
                        .getOrDefault(infra.prefix() + "-dlq.billing", 0L)
                    == 1L);
    awaitNothingPending();
  }

  // --- helpers ----------------------------------------------------------------------------------

  static BigDecimal[] zero() {
    return new BigDecimal[] {BigDecimal.ZERO, BigDecimal.ZERO};
  }

  static Map<String, Object> reading(Meter m, Instant at, BigDecimal kwh) {
    Map<String, Object> r = new HashMap<>();
    r.put("meterId", m.meterId());
    r.put("accountId", m.accountId());
    r.put("feederId", m.feederId());
    r.put("tariff", m.tariff());
    r.put("intervalStart", at.minusSeconds(900).toString());
    r.put("readingAt", at.toString());
    r.put("intervalMinutes", 15);
    r.put("kwh", kwh);
    return r;
  }

  static void publishReading(Meter m, Instant at, BigDecimal kwh) throws Exception {
    published.add(relay.publish(m.meterId(), "ReadingRecorded", reading(m, at, kwh)));
    Instant start = at.minusSeconds(900);
    LocalDate month = start.atZone(ZoneOffset.UTC).toLocalDate().withDayOfMonth(1);
    add(billed, m.accountId() + " " + month, kwh);
    add(loaded, m.feederId() + " " + start, kwh);
  }

  static void add(Map<String, BigDecimal[]> sums, String key, BigDecimal kwh) {
    BigDecimal[] s = sums.computeIfAbsent(key, k -> zero());
    s[0] = s[0].add(kwh);
    s[1] = s[1].add(BigDecimal.ONE);
  }

  static Map<String, String> normalized(Map<String, BigDecimal[]> sums) {
    Map<String, String> m = new TreeMap<>();
    sums.forEach(
        (k, v) ->
            m.put(k, v[0].stripTrailingZeros().toPlainString() + " kWh / " + v[1].toPlainString()));
    return m;
  }

  static Map<String, String> fromJson(JsonNode list, String a, String b) {
    Map<String, String> m = new TreeMap<>();
    for (JsonNode n : list) {
      m.put(
          n.path(a).asText() + " " + n.path(b).asText(),
          n.path("kwh").decimalValue().stripTrailingZeros().toPlainString()
              + " kWh / "
              + n.path("readings").asLong());
    }
    return m;
  }

  static void awaitConverged() {
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(200))
        .untilAsserted(
            () -> {
              JsonNode s = getJson("/summary");
              assertThat(fromJson(s.path("accounts"), "accountId", "period"))
                  .isEqualTo(normalized(billed));
              assertThat(fromJson(s.path("feeders"), "feederId", "intervalStart"))
                  .isEqualTo(normalized(loaded));
            });
  }

  static void awaitNothingPending() {
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              for (JsonNode c : getJson("/status").path("consumers")) {
                assertThat(c.path("pending").asLong(-1)).as(c.toString()).isZero();
              }
            });
  }

  static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.getPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static int getStatus(String path) throws Exception {
    return get(path).statusCode();
  }

  static JsonNode getJson(String path) throws Exception {
    HttpResponse<String> r = get(path);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }
}
