package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.NatsMessage;
import io.outboxkit.testing.JarProcess;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
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

  static final Duration WAIT = Grid.WAIT;

  static Grid grid;
  static JarProcess relay;
  static JetStreamManagement jsm;
  static String stream;

  @BeforeAll
  static void start() throws Exception {
    grid = new Grid(infra, Map.of());
    relay = grid.relay;
    stream = grid.stream;
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
  void everyReadingOfASimulatorRunIsBilledOnceEvenAcrossARelayCrash() throws Exception {
    JarProcess simulator =
        grid.simulator(
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
            "e2e");
    try {
      // Kill the relay (SIGKILL) in the middle of the run and start it again.
      await().atMost(WAIT).until(() -> meterTotals().path("readings").asLong() >= 300);
      relay.kill();
      relay.start();
      grid.awaitRelayStreaming();
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
      ConsumerReset.delete(jsm, stream, consumer);
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
    grid.awaitReadModelsEqualTheMeterTotals();
  }

  static JsonNode meterTotals() throws Exception {
    return grid.meterTotals();
  }

  static JsonNode summary() throws Exception {
    return grid.summary();
  }
}
