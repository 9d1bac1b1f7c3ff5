package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class ConvergenceReportTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static JsonNode meter() throws Exception {
    return JSON.readTree(
        """
        {"meters":2,"readings":3,"kwh":3.500,"outboxRows":5,
         "accounts":[{"accountId":"a-1","period":"2025-01-01","kwh":2.500,"readings":2},
                     {"accountId":"a-2","period":"2025-01-01","kwh":1.000,"readings":1}],
         "feeders":[{"feederId":"f-1","intervalStart":"2025-01-01T00:00:00Z","kwh":3.500,"readings":3}]}
        """);
  }

  static ObjectNode billing() throws Exception {
    return (ObjectNode)
        JSON.readTree(
            """
            {"billedReadings":3,"billedKwh":3.5,"loadReadings":3,"loadKwh":3.5,
             "accounts":[{"accountId":"a-2","period":"2025-01-01","kwh":1,"readings":1},
                         {"accountId":"a-1","period":"2025-01-01","kwh":2.5,"readings":2}],
             "feeders":[{"feederId":"f-1","intervalStart":"2025-01-01T00:00:00Z","kwh":3.5,"readings":3}],
             "consumers":[{"consumer":"billing","running":true,"pending":0},
                          {"consumer":"grid-load","running":true,"pending":0}],
             "stream":{"stream":"OUTBOX","messages":5,"meterEvents":5,"subjects":{}}}
            """);
  }

  @Test
  void equalTotalsInAnyOrderAndScaleConverge() throws Exception {
    assertThat(ConvergenceReport.differences(meter(), billing())).isEmpty();
  }

  @Test
  void aReadingAppliedTwiceShows() throws Exception {
    ObjectNode b = billing();
    ((ObjectNode) b.path("accounts").get(0)).put("kwh", 2).put("readings", 2);
    b.put("billedReadings", 4);
    assertThat(ConvergenceReport.differences(meter(), b))
        .anySatisfy(p -> assertThat(p).contains("billing holds 4 of 3"))
        .anySatisfy(p -> assertThat(p).contains("1 of 2 bill rows differ", "a-2 2025-01-01"));
  }

  @Test
  void aLostReadingShowsInTheLoadCurve() throws Exception {
    ObjectNode b = billing();
    ((ObjectNode) b.path("feeders").get(0)).put("kwh", 2.5).put("readings", 2);
    b.put("loadReadings", 2);
    assertThat(ConvergenceReport.differences(meter(), b))
        .anySatisfy(p -> assertThat(p).contains("grid load holds 2 of 3"))
        .anySatisfy(p -> assertThat(p).contains("load rows differ"));
  }

  @Test
  void pendingEventsAStoppedConsumerOrAStreamMismatchMeanNotConverged() throws Exception {
    ObjectNode b = billing();
    ((ObjectNode) b.path("consumers").get(0)).put("pending", 7);
    ((ObjectNode) b.path("consumers").get(1)).put("running", false);
    ((ObjectNode) b.path("stream")).put("meterEvents", 6);
    assertThat(ConvergenceReport.differences(meter(), b))
        .containsExactlyInAnyOrder(
            "the stream holds 6 meter events for 5 outbox rows",
            "consumer billing has 7 pending",
            "consumer grid-load is not running");
    assertThat(ConvergenceReport.readModelDifferences(meter(), b)).isEmpty();
  }
}
