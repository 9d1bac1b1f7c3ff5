package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.testing.JarProcess;
import io.outboxkit.testing.TestInfra;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Background sync end to end: readings of two closed months go through the meter service, the relay
 * and JetStream into both read models; then rows of the read models are altered and deleted by
 * hand, and the reconcilers, comparing with the meter service over its HTTP API, find and repair
 * exactly those, after which a second run finds nothing. The daily feeder summary is built from the
 * load read model and equals the meter service's totals per feeder and day.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BackgroundSyncIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static Grid grid;
  static Jdbi billingDb;

  @BeforeAll
  static void start() throws Exception {
    grid =
        new Grid(
            infra,
            Map.of(
                "billing.reconcile.enabled", "false",
                "billing.reconcile.lookback", "150d",
                "billing.reconcile.page-size", "100"));
    billingDb = grid.billingJdbi();
    // Readings across the end of a month, two months back: both months are closed.
    Instant start =
        LocalDate.now(ZoneOffset.UTC)
            .withDayOfMonth(1)
            .minusMonths(2)
            .atStartOfDay()
            .toInstant(ZoneOffset.UTC)
            .minus(6, ChronoUnit.HOURS)
            .plus(15, ChronoUnit.MINUTES);
    JarProcess simulator =
        grid.simulator(
            "--meters",
            "12",
            "--feeders",
            "3",
            "--rate",
            "300",
            "--duration",
            "3s",
            "--batch",
            "12",
            "--prefix",
            "bs",
            "--start",
            start.toString());
    try {
      assertThat(simulator.awaitExit(Grid.WAIT)).as(simulator.logTail()).isZero();
    } finally {
      simulator.close();
    }
    grid.awaitReadModelsEqualTheMeterTotals();
  }

  @AfterAll
  static void stop() throws Exception {
    if (grid != null) {
      grid.close();
    }
  }

  @Test
  @Order(1)
  void readModelsThatAgreeShowNoDrift() throws Exception {
    Map<String, JsonNode> runs = runs(grid.postBilling("/reconcile"));
    assertThat(runs.keySet()).containsExactlyInAnyOrder("bills", "grid-load");
    assertThat(runs.get("bills").path("windows").asInt()).isGreaterThanOrEqualTo(2);
    assertThat(runs.get("bills").path("keysCompared").asLong()).isGreaterThanOrEqualTo(12);
    assertThat(runs.get("grid-load").path("keysCompared").asLong()).isGreaterThanOrEqualTo(3);
    for (JsonNode run : runs.values()) {
      assertThat(run.path("driftsFound").asInt()).as(run.toString()).isZero();
      assertThat(run.path("error").isNull()).as(run.toString()).isTrue();
    }
  }

  @Test
  @Order(2)
  void aBillAlteredAndALoadIntervalDeletedByHandAreFoundAndRepairedThenNothingIsFound()
      throws Exception {
    Map<String, Object> bill =
        billingDb.withHandle(
            h ->
                h.createQuery(
                        "SELECT account_id, period, meter_id, tariff, kwh_peak + kwh_off_peak AS kwh"
                            + " FROM bill_usage ORDER BY account_id, period, meter_id LIMIT 1")
                    .mapToMap()
                    .one());
    Map<String, Object> load =
        billingDb.withHandle(
            h ->
                h.createQuery(
                        "SELECT feeder_id, interval_start, kwh, readings FROM feeder_load"
                            + " ORDER BY feeder_id, interval_start OFFSET 5 LIMIT 1")
                    .mapToMap()
                    .one());
    billingDb.useHandle(
        h -> {
          assertThat(
                  h.execute(
                      "UPDATE bill_usage SET kwh_off_peak = kwh_off_peak + 12.345,"
                          + " readings_off_peak = readings_off_peak + 1"
                          + " WHERE account_id = ? AND period = ? AND meter_id = ? AND tariff = ?",
                      bill.get("account_id"),
                      bill.get("period"),
                      bill.get("meter_id"),
                      bill.get("tariff")))
              .isEqualTo(1);
          assertThat(
                  h.execute(
                      "DELETE FROM feeder_load WHERE feeder_id = ? AND interval_start = ?",
                      load.get("feeder_id"),
                      load.get("interval_start")))
              .isEqualTo(1);
        });
    // The corruption is visible against the source of truth.
    assertThat(ConvergenceReport.readModelDifferences(grid.meterTotals(), grid.summary()))
        .isNotEmpty();

    Map<String, JsonNode> runs = runs(grid.postBilling("/reconcile"));
    assertThat(runs.get("bills").path("driftsFound").asInt()).isEqualTo(1);
    assertThat(runs.get("bills").path("driftsRepaired").asInt()).isEqualTo(1);
    assertThat(runs.get("grid-load").path("driftsFound").asInt()).isEqualTo(1);
    assertThat(runs.get("grid-load").path("driftsRepaired").asInt()).isEqualTo(1);
    assertThat(ConvergenceReport.readModelDifferences(grid.meterTotals(), grid.summary()))
        .isEmpty();

    // The endpoint shows each drift: key, window, expected, actual, when.
    Map<String, JsonNode> state = new HashMap<>();
    grid.getBilling("/reconcile")
        .path("reconciliations")
        .forEach(r -> state.put(r.path("name").asText(), r));
    JsonNode billDrift = state.get("bills").path("drifts").get(0);
    assertThat(billDrift.path("key").asText())
        .isEqualTo(
            BillReconciliation.key(
                (String) bill.get("account_id"),
                ((java.sql.Date) bill.get("period")).toLocalDate(),
                (String) bill.get("meter_id"),
                (String) bill.get("tariff")));
    assertThat(billDrift.path("status").asText()).isEqualTo("REPAIRED");
    assertThat(billDrift.path("actual").asText()).contains("readingsOffPeak=");
    assertThat(billDrift.path("foundAt").isNull()).isFalse();
    JsonNode loadDrift = state.get("grid-load").path("drifts").get(0);
    Instant interval = ((java.sql.Timestamp) load.get("interval_start")).toInstant();
    assertThat(loadDrift.path("key").asText())
        .isEqualTo(LoadReconciliation.key((String) load.get("feeder_id"), interval));
    assertThat(loadDrift.path("actual").isNull()).isTrue();
    assertThat(loadDrift.path("expected").asText())
        .isEqualTo(
            new LoadReconciliation.Load((BigDecimal) load.get("kwh"), (Long) load.get("readings"))
                .toString());
    assertThat(Instant.parse(loadDrift.path("windowStart").asText()))
        .isEqualTo(interval.truncatedTo(ChronoUnit.DAYS));

    Map<String, JsonNode> again = runs(grid.postBilling("/reconcile"));
    for (JsonNode run : again.values()) {
      assertThat(run.path("driftsFound").asInt()).as(run.toString()).isZero();
    }

    String metrics = JarProcess.get(grid.billingUrl() + "/prometheus");
    assertThat(metrics)
        .containsPattern(
            "outboxkit_reconcile_drifts_total\\{[^}]*outcome=\"repaired\",reconciliation=\"bills\"[^}]*\\} 1\\.0")
        .containsPattern(
            "outboxkit_reconcile_drifts_total\\{[^}]*outcome=\"found\",reconciliation=\"grid-load\"[^}]*\\} 1\\.0");
  }

  @Test
  @Order(3)
  void theDailyFeederSummaryEqualsTheMeterTotalsPerFeederAndDay() throws Exception {
    JsonNode build = grid.postBilling("/feeders/days");
    assertThat(build.path("skipped").asBoolean()).isFalse();
    assertThat(build.path("written").asInt()).isGreaterThanOrEqualTo(3);
    // A second build writes nothing: the rows did not change.
    assertThat(grid.postBilling("/feeders/days").path("written").asInt()).isZero();

    Map<String, BigDecimal> truth = new TreeMap<>();
    grid.meterTotals()
        .path("feeders")
        .forEach(
            f ->
                truth.merge(
                    f.path("feederId").asText()
                        + " "
                        + Instant.parse(f.path("intervalStart").asText())
                            .atOffset(ZoneOffset.UTC)
                            .toLocalDate(),
                    f.path("kwh").decimalValue(),
                    BigDecimal::add));
    Map<String, BigDecimal> days = new TreeMap<>();
    for (String feeder : List.of("bs-f000", "bs-f001", "bs-f002")) {
      grid.getBilling("/feeders/" + feeder + "/days")
          .forEach(
              d ->
                  days.put(
                      d.path("feederId").asText() + " " + d.path("day").asText(),
                      d.path("kwh").decimalValue()));
    }
    assertThat(days).isNotEmpty();
    assertThat(days.keySet()).isEqualTo(truth.keySet());
    days.forEach((k, v) -> assertThat(v).as(k).isEqualByComparingTo(truth.get(k)));
  }

  static Map<String, JsonNode> runs(JsonNode answer) {
    Map<String, JsonNode> map = new HashMap<>();
    answer.path("runs").forEach(r -> map.put(r.path("reconciliation").asText(), r));
    return map;
  }
}
