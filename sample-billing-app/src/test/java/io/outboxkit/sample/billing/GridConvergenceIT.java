package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.NatsMessage;
import io.outboxkit.testing.JarProcess;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole grid, end to end, with real components: the meter service and the relay as processes
 * from their jars, NATS JetStream, and this billing service with its two consumers, each service
 * with its own database. The simulator writes readings through the meter service's HTTP API while
 * the relay is killed and restarted; then every reading must be billed once and in the load curve
 * once — also after events were published into the stream a second time and after the durable
 * consumers were reset and got everything delivered again. A reading lost or applied twice makes
 * the totals differ from the meter service's and fails the test.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GridConvergenceIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration WAIT = Duration.ofMinutes(3);

  static String billingDb;
  static String meterUrl;
  static String relayUrl;
  static JarProcess meter;
  static JarProcess relay;
  static EmbeddedServer billing;
  static JetStreamManagement jsm;
  static String stream;

  @BeforeAll
  static void start() throws Exception {
    stream = infra.streamName();
    String prefix = infra.prefix();
    billingDb =
        (infra.database() + "_billing").substring(0, Math.min(63, infra.database().length() + 8));
    try (Connection c =
            DriverManager.getConnection(
                "jdbc:postgresql://" + infra.pgHost() + ":" + infra.pgPort() + "/postgres",
                infra.pgUser(),
                infra.pgPassword());
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + billingDb);
    }

    int meterPort = Ports.free();
    meterUrl = "http://127.0.0.1:" + meterPort;
    meter =
        new JarProcess(
                "sample-meter-app",
                Map.of(
                    "METER_PORT", Integer.toString(meterPort),
                    "METER_DB_URL", infra.jdbcUrl(),
                    "METER_DB_USER", infra.pgUser(),
                    "METER_DB_PASSWORD", infra.pgPassword()))
            .start()
            .awaitHttp(meterUrl + "/health", b -> b.contains("UP"), WAIT);

    int relayPort = Ports.free();
    relayUrl = "http://127.0.0.1:" + relayPort + "/health/readiness";
    Map<String, String> env = new HashMap<>();
    env.put("OUTBOXKIT_RELAY_HTTP_PORT", Integer.toString(relayPort));
    env.put("OUTBOXKIT_RELAY_HTTP_HOST", "127.0.0.1");
    env.put("OUTBOXKIT_RELAY_DATABASE_HOST", infra.pgHost());
    env.put("OUTBOXKIT_RELAY_DATABASE_PORT", Integer.toString(infra.pgPort()));
    env.put("OUTBOXKIT_RELAY_DATABASE_NAME", infra.database());
    env.put("OUTBOXKIT_RELAY_DATABASE_USER", infra.pgUser());
    env.put("OUTBOXKIT_RELAY_DATABASE_PASSWORD", infra.pgPassword());
    env.put("OUTBOXKIT_RELAY_NATS_SERVERS", infra.natsUrl());
    env.put("OUTBOXKIT_RELAY_STREAM_NAME", stream);
    env.put("OUTBOXKIT_RELAY_STREAM_SUBJECTS", prefix + ".>," + prefix + "-dlq.>");
    // A short duplicate window, so that this test can put an event into the stream twice.
    env.put("OUTBOXKIT_RELAY_STREAM_DUPLICATE_WINDOW", "1s");
    env.put("OUTBOXKIT_RELAY_SUBJECT_TEMPLATE", prefix + ".{aggregate_type}.{event_type}");
    env.put("OUTBOXKIT_RELAY_DEAD_LETTER_SUBJECT", prefix + "-dlq.relay");
    env.put("OUTBOXKIT_RELAY_SLOT_NAME", prefix + "_slot");
    env.put("OUTBOXKIT_RELAY_PUBLICATION_NAME", prefix + "_pub");
    env.put("OUTBOXKIT_RELAY_ENGINE_RESTART_BACKOFF", "500ms");
    relay = new JarProcess("outbox-relay", env).start();
    awaitRelayStreaming();

    Map<String, Object> props = new HashMap<>();
    props.put(
        "datasources.default.url",
        "jdbc:postgresql://" + infra.pgHost() + ":" + infra.pgPort() + "/" + billingDb);
    props.put("datasources.default.username", infra.pgUser());
    props.put("datasources.default.password", infra.pgPassword());
    props.put("micronaut.server.port", -1);
    props.put("billing.nats-url", infra.natsUrl());
    props.put("billing.stream", stream);
    props.put("billing.billing-subject", prefix + ".meter.>");
    props.put("billing.grid-load-subject", prefix + ".meter.ReadingRecorded");
    props.put("billing.dead-letter-prefix", prefix + "-dlq.");
    billing = ApplicationContext.run(EmbeddedServer.class, props);
    jsm = infra.nats().jetStreamManagement();
  }

  static void awaitRelayStreaming() {
    relay.awaitHttp(relayUrl, b -> b.contains("\"state\":\"STREAMING\""), WAIT);
  }

  @AfterAll
  static void stop() throws Exception {
    if (billing != null) {
      billing.close();
    }
    if (relay != null) {
      relay.close();
    }
    if (meter != null) {
      meter.close();
    }
    if (billingDb != null) {
      try (Connection c =
              DriverManager.getConnection(
                  "jdbc:postgresql://" + infra.pgHost() + ":" + infra.pgPort() + "/postgres",
                  infra.pgUser(),
                  infra.pgPassword());
          Statement s = c.createStatement()) {
        s.execute("DROP DATABASE IF EXISTS " + billingDb + " WITH (FORCE)");
      }
    }
  }

  @Test
  @Order(1)
  void everyReadingOfASimulatorRunIsBilledOnceEvenAcrossARelayCrash() throws Exception {
    JarProcess simulator =
        new JarProcess(
                "sample-meter-app",
                Map.of(),
                "simulate",
                "--url",
                meterUrl,
                "--meters",
                "24",
                "--feeders",
                "3",
                "--rate",
                "300",
                "--duration",
                "5s",
                "--batch",
                "12",
                "--prefix",
                "e2e")
            .start();
    try {
      // Kill the relay (SIGKILL) in the middle of the run and start it again.
      await().atMost(WAIT).until(() -> meterTotals().path("readings").asLong() >= 300);
      relay.kill();
      relay.start();
      awaitRelayStreaming();
      assertThat(simulator.awaitExit(WAIT)).as(simulator.logTail()).isZero();
    } finally {
      simulator.close();
    }

    awaitReadModelsEqualTheMeterTotals();
    JsonNode truth = meterTotals();
    assertThat(truth.path("readings").asLong()).isGreaterThanOrEqualTo(300);
    assertThat(truth.path("meters").asLong()).isEqualTo(24);
    // The relay put every outbox row into the stream; after a crash it may put one again, which
    // the consumers' inbox absorbs.
    assertThat(summary().path("stream").path("meterEvents").asLong())
        .isGreaterThanOrEqualTo(truth.path("outboxRows").asLong());
  }

  @Test
  @Order(2)
  void eventsPutIntoTheStreamASecondTimeAreAppliedOnce() throws Exception {
    long last = jsm.getStreamInfo(stream).getStreamState().getLastSequence();
    JetStream js = infra.nats().jetStream();
    int again = 0;
    for (long seq = last; seq > 0 && again < 100; seq -= 3) {
      MessageInfo m = jsm.getMessage(stream, seq);
      if (!m.getSubject().endsWith(".ReadingRecorded")) {
        continue;
      }
      NatsMessage copy =
          NatsMessage.builder()
              .subject(m.getSubject())
              .headers(m.getHeaders())
              .data(m.getData())
              .build();
      // The same Nats-Msg-Id, once the 1 s duplicate window let go of it: what a relay replaying
      // after a long outage does.
      await()
          .atMost(WAIT)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> !js.publish(copy).isDuplicate());
      again++;
    }
    assertThat(again).isEqualTo(100);
    assertThat(jsm.getStreamInfo(stream).getStreamState().getLastSequence()).isEqualTo(last + 100);

    awaitReadModelsEqualTheMeterTotals();
  }

  @Test
  @Order(3)
  void resetConsumersGetEverythingAgainAndApplyNothingTwice() throws Exception {
    long last = jsm.getStreamInfo(stream).getStreamState().getLastSequence();
    for (String consumer : List.of("billing", "grid-load")) {
      jsm.deleteConsumer(stream, consumer);
    }
    await()
        .atMost(WAIT)
        .ignoreExceptions()
        .until(
            () -> {
              for (String consumer : List.of("billing", "grid-load")) {
                ConsumerInfo info = jsm.getConsumerInfo(stream, consumer);
                if (info.getAckFloor().getStreamSequence() < last) {
                  return false;
                }
              }
              return true;
            });
    awaitReadModelsEqualTheMeterTotals();
  }

  static void awaitReadModelsEqualTheMeterTotals() {
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              JsonNode truth = meterTotals();
              JsonNode models = summary();
              assertThat(ConvergenceReport.readModelDifferences(truth, models)).isEmpty();
              assertThat(ConvergenceReport.consumerDifferences(models)).isEmpty();
            });
  }

  static JsonNode meterTotals() throws Exception {
    String body = JarProcess.get(meterUrl + "/totals?zone=UTC");
    assertThat(body).as("meter service /totals").isNotNull();
    return JSON.readTree(body);
  }

  static JsonNode summary() throws Exception {
    String body = JarProcess.get("http://127.0.0.1:" + billing.getPort() + "/summary");
    assertThat(body).as("billing service /summary").isNotNull();
    return JSON.readTree(body);
  }
}
