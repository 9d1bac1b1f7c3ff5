package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.outboxkit.testing.JarProcess;
import io.outboxkit.testing.TestInfra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The meter onboarding saga end to end: the meter service (a jar process, saga mode) and its relay,
 * the billing service (in this JVM) with its own outbox and a second relay on its database, NATS
 * JetStream and PostgreSQL, all real. Accept, reject and timeout each end in the right state in
 * both services; also with the billing relay stopped until the answer comes after the timeout, with
 * the meter service killed -9 between steps, and with every onboarding event delivered again (new
 * message ids, past every de-duplication) and the consumers reset.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OnboardingSagaIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static final Duration WAIT = Duration.ofMinutes(3);
  static final String TIMEOUT = "8s";
  static final HttpClient HTTP = HttpClient.newHttpClient();

  static Grid grid;
  static Jdbi meterDb;
  static Jdbi billingDb;
  static JetStreamManagement jsm;

  @BeforeAll
  static void start() throws Exception {
    grid = new Grid(infra, Map.of(), TIMEOUT);
    meterDb = infra.jdbi();
    billingDb = grid.billingJdbi();
    jsm = infra.nats().jetStreamManagement();
  }

  @AfterAll
  static void stop() throws Exception {
    if (grid != null) {
      grid.close();
    }
  }

  @Test
  @Order(1)
  void acceptedMeterIsActiveAndRejectedOneTakesNoReadings() throws Exception {
    assertThat(
            register("acc-1", "acct-acc-1", "residential-tou")
                .path("meter")
                .path("status")
                .asText())
        .isEqualTo("PENDING");
    register("rej-1", "acct-rej-1", "legacy-flat");

    awaitMeterStatus("acc-1", "ACTIVE");
    awaitMeterStatus("rej-1", "REJECTED");
    assertThat(decision("acc-1")).isEqualTo("OPEN");
    assertThat(decision("rej-1")).isEqualTo("REJECTED");
    assertThat(meter("rej-1").path("statusReason").asText()).contains("UNKNOWN_TARIFF");
    // Activation sent MeterRegistered: the billing read model has the meter; the rejected one not.
    await()
        .atMost(WAIT)
        .until(
            () ->
                billingDb.withHandle(
                    h ->
                        h.select("SELECT count(*) FROM billing_meter WHERE meter_id = 'acc-1'")
                                .mapTo(Integer.class)
                                .one()
                            == 1));
    int rejectedInReadModel =
        billingDb.withHandle(
            h ->
                h.select("SELECT count(*) FROM billing_meter WHERE meter_id = 'rej-1'")
                    .mapTo(Integer.class)
                    .one());
    assertThat(rejectedInReadModel).isZero();

    assertThat(reading("acc-1").statusCode()).isEqualTo(201);
    HttpResponse<String> refused = reading("rej-1");
    assertThat(refused.statusCode()).isEqualTo(409);
    assertThat(refused.body()).contains("REJECTED, not ACTIVE");

    JsonNode saga = onboarding("acc-1");
    assertThat(saga.path("state").asText()).isEqualTo("ACTIVE");
    assertThat(saga.path("deadline").isNull()).isTrue();
    assertThat(steps(saga)).containsExactly("BEGIN PENDING APPLIED", "REPLY AccountOpened APPLIED");
  }

  @Test
  @Order(2)
  void answerAfterTheTimeoutIsCompensated() throws Exception {
    // Billing decides in time, but its relay is down: the answer waits in billing's outbox.
    grid.billingRelay.terminate(WAIT);
    register("late-1", "acct-late-1", "commercial-tou");
    assertThat(reading("late-1").statusCode()).isEqualTo(409); // PENDING
    awaitMeterStatus("late-1", "TIMED_OUT");
    await().atMost(WAIT).until(() -> "OPEN".equals(decision("late-1")));
    assertThat(reading("late-1").body()).contains("TIMED_OUT, not ACTIVE");

    grid.billingRelay.start();
    grid.awaitBillingRelayStreaming();
    // The late AccountOpened reaches the meter service, which sends MeterRegistrationCancelled.
    await().atMost(WAIT).until(() -> "CLOSED".equals(decision("late-1")));
    assertThat(meter("late-1").path("status").asText()).isEqualTo("TIMED_OUT");
    assertThat(steps(onboarding("late-1")))
        .containsExactly(
            "BEGIN PENDING APPLIED", "DEADLINE PENDING APPLIED", "REPLY AccountOpened LATE");
    assertThat(cancellations("late-1")).isEqualTo(1);
  }

  @Test
  @Order(3)
  void deadlineSurvivesAKillOfTheMeterService() throws Exception {
    grid.billingRelay.terminate(WAIT);
    register("kill-t", "acct-kill-t", "residential-tou");
    grid.killMeter(); // PENDING, its deadline committed; nobody left to fire it
    grid.startMeter(Map.of());
    awaitMeterStatus("kill-t", "TIMED_OUT"); // fired by the restarted service
    grid.killMeter(); // again, before the answer: the late answer waits in the stream
    grid.billingRelay.start();
    grid.awaitBillingRelayStreaming();
    grid.startMeter(Map.of());
    await().atMost(WAIT).until(() -> "CLOSED".equals(decision("kill-t")));
    assertThat(meter("kill-t").path("status").asText()).isEqualTo("TIMED_OUT");
    assertThat(cancellations("kill-t")).isEqualTo(1);
  }

  @Test
  @Order(4)
  void acceptanceSurvivesAKillOfTheMeterService() throws Exception {
    // A long timeout for this meter, so that only the kill stands between the steps.
    grid.killMeter();
    grid.startMeter(Map.of("METER_ONBOARDING_TIMEOUT", "10m"));
    grid.billingRelay.terminate(WAIT);
    register("kill-a", "acct-kill-a", "commercial-tou");
    grid.killMeter(); // PENDING; billing decides and answers while the meter service is down
    grid.billingRelay.start();
    grid.awaitBillingRelayStreaming();
    await().atMost(WAIT).until(() -> "OPEN".equals(decision("kill-a")));
    grid.startMeter(Map.of());
    awaitMeterStatus("kill-a", "ACTIVE");
    assertThat(reading("kill-a").statusCode()).isEqualTo(201);
  }

  @Test
  @Order(5)
  void everyOnboardingEventDeliveredAgainChangesNothing() throws Exception {
    awaitIdle();
    Map<String, String> meters = meterStatuses();
    Map<String, String> decisions = decisions();
    long meterOutbox = outboxRows(meterDb);
    long billingOutbox = outboxRows(billingDb);
    assertThat(meters)
        .containsEntry("acc-1", "ACTIVE")
        .containsEntry("rej-1", "REJECTED")
        .containsEntry("late-1", "TIMED_OUT")
        .containsEntry("kill-t", "TIMED_OUT")
        .containsEntry("kill-a", "ACTIVE");

    // Every request, cancellation and answer once more, with new message ids: past JetStream's
    // de-duplication and past the inboxes. Only the saga rules can keep them from acting twice.
    int again =
        republish(grid.stream, infra.prefix() + ".onboarding.")
            + republish(grid.billingStream, infra.prefix() + "b.onboarding.");
    assertThat(again).isGreaterThanOrEqualTo(5 + 2 + 5);
    awaitIdle();
    // And every message again with its own id, by resetting the durable consumers.
    ConsumerReset.delete(jsm, grid.stream, Onboarding.CONSUMER);
    ConsumerReset.delete(jsm, grid.billingStream, "meter-onboarding");
    awaitIdle();

    assertThat(meterStatuses()).isEqualTo(meters);
    assertThat(decisions()).isEqualTo(decisions);
    assertThat(outboxRows(meterDb)).isEqualTo(meterOutbox);
    assertThat(outboxRows(billingDb)).isEqualTo(billingOutbox);
    assertThat(cancellations("late-1")).isEqualTo(1);
    grid.awaitReadModelsEqualTheMeterTotals();
  }

  // --- helpers ---------------------------------------------------------------------------------

  static JsonNode register(String meterId, String accountId, String tariff) throws Exception {
    HttpResponse<String> r =
        post(
            "/meters",
            Grid.JSON
                .createObjectNode()
                .put("meterId", meterId)
                .put("accountId", accountId)
                .put("feederId", "f-saga")
                .put("tariff", tariff)
                .toString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return Grid.JSON.readTree(r.body());
  }

  static HttpResponse<String> reading(String meterId) throws Exception {
    Instant at = Instant.ofEpochSecond(Instant.now().getEpochSecond() / 900 * 900);
    return post("/meters/" + meterId + "/readings", "{\"readingAt\":\"" + at + "\",\"kwh\":0.25}");
  }

  static HttpResponse<String> post(String path, String body) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(grid.meterUrl + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode meter(String meterId) throws Exception {
    String body = JarProcess.get(grid.meterUrl + "/meters/" + meterId);
    assertThat(body).as("GET /meters/" + meterId).isNotNull();
    return Grid.JSON.readTree(body);
  }

  static JsonNode onboarding(String meterId) throws Exception {
    String body = JarProcess.get(grid.meterUrl + "/meters/" + meterId + "/onboarding");
    assertThat(body).as("GET /meters/" + meterId + "/onboarding").isNotNull();
    return Grid.JSON.readTree(body);
  }

  static List<String> steps(JsonNode saga) {
    List<String> list = new ArrayList<>();
    saga.path("steps")
        .forEach(
            s ->
                list.add(
                    s.path("kind").asText()
                        + " "
                        + s.path("name").asText()
                        + " "
                        + s.path("outcome").asText()));
    return list;
  }

  static void awaitMeterStatus(String meterId, String status) {
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(200))
        .untilAsserted(() -> assertThat(meter(meterId).path("status").asText()).isEqualTo(status));
  }

  static String decision(String meterId) {
    return billingDb.withHandle(
        h ->
            h.select("SELECT status FROM meter_account WHERE meter_id = ?", meterId)
                .mapTo(String.class)
                .findOne()
                .orElse(null));
  }

  static Map<String, String> meterStatuses() {
    Map<String, String> m = new TreeMap<>();
    meterDb.useHandle(
        h ->
            h.select("SELECT meter_id, status FROM meter")
                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
                .forEach(e -> m.put(e.getKey(), e.getValue())));
    return m;
  }

  static Map<String, String> decisions() {
    Map<String, String> m = new TreeMap<>();
    billingDb.useHandle(
        h ->
            h.select("SELECT meter_id, status FROM meter_account")
                .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getString(2)))
                .forEach(e -> m.put(e.getKey(), e.getValue())));
    return m;
  }

  static long outboxRows(Jdbi db) {
    return db.withHandle(h -> h.select("SELECT count(*) FROM outbox").mapTo(Long.class).one());
  }

  static long cancellations(String meterId) {
    return meterDb.withHandle(
        h ->
            h.select(
                    "SELECT count(*) FROM outbox WHERE aggregate_id = ?"
                        + " AND event_type = 'MeterRegistrationCancelled'",
                    meterId)
                .mapTo(Long.class)
                .one());
  }

  /** Publishes every message of {@code stream} under {@code subjectPrefix} again, new ids. */
  static int republish(String stream, String subjectPrefix) throws Exception {
    JetStream js = infra.nats().jetStream();
    long last = jsm.getStreamInfo(stream).getStreamState().getLastSequence();
    int n = 0;
    for (long seq = 1; seq <= last; seq++) {
      MessageInfo m;
      try {
        m = jsm.getMessage(stream, seq);
      } catch (io.nats.client.JetStreamApiException e) {
        continue; // deleted
      }
      if (!m.getSubject().startsWith(subjectPrefix)) {
        continue;
      }
      Headers headers = new Headers(m.getHeaders());
      headers.put("Nats-Msg-Id", UUID.randomUUID().toString());
      js.publish(
          NatsMessage.builder().subject(m.getSubject()).headers(headers).data(m.getData()).build());
      n++;
    }
    return n;
  }

  /** Both onboarding consumers exist and have nothing pending. */
  static void awaitIdle() {
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(300))
        .ignoreExceptions()
        .until(
            () ->
                idle(grid.stream, Onboarding.CONSUMER)
                    && idle(grid.billingStream, "meter-onboarding"));
  }

  static boolean idle(String stream, String consumer) throws Exception {
    ConsumerInfo info = jsm.getConsumerInfo(stream, consumer);
    return info.getNumPending() == 0 && info.getNumAckPending() == 0;
  }
}
