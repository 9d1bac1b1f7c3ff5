package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.outboxkit.testing.JarProcess;
import io.outboxkit.testing.TestInfra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * CQRS rebuild end to end, through the meter service, the real relay and JetStream: readings of a
 * closed month build both read models; a row of each is then corrupted by hand; each model is
 * rebuilt from the stream while the simulator keeps sending readings, and readers poll the billing
 * service all along. Every read during the rebuild returns a complete model (the bill and the load
 * curve of the first load exactly as before, totals never below what was there nor above the
 * source), the rebuilt model holds exactly the rows the uninterrupted one held (the corruption is
 * gone), and after the load both models equal the meter service's totals, row by row (a
 * reconciliation finds nothing).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RebuildIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  private static final String BILL_ROWS =
      "SELECT account_id, period, meter_id, tariff, kwh_peak, kwh_off_peak, readings_peak,"
          + " readings_off_peak FROM bill_usage WHERE account_id LIKE 'ra-%'"
          + " ORDER BY account_id, period, meter_id, tariff";
  private static final String METER_ROWS =
      "SELECT meter_id, account_id, tariff, registered_at FROM billing_meter"
          + " WHERE meter_id LIKE 'ra-%' ORDER BY meter_id";
  private static final String LOAD_ROWS =
      "SELECT feeder_id, interval_start, kwh, readings FROM feeder_load"
          + " WHERE feeder_id LIKE 'ra-%' ORDER BY feeder_id, interval_start";

  static Grid grid;
  static Jdbi billingDb;
  static Instant monthStart;
  static List<Map<String, Object>> bills;
  static List<Map<String, Object>> meters;
  static List<Map<String, Object>> load;

  @BeforeAll
  static void start() throws Exception {
    grid =
        new Grid(
            infra,
            Map.of(
                "billing.reconcile.enabled", "false",
                "billing.reconcile.lookback", "150d",
                "billing.reconcile.page-size", "500"));
    billingDb = grid.billingJdbi();
    monthStart =
        LocalDate.now(ZoneOffset.UTC)
            .withDayOfMonth(1)
            .minusMonths(2)
            .atStartOfDay()
            .toInstant(ZoneOffset.UTC);
    simulate("ra", 12, 3, 300, "3s", monthStart.plus(15, ChronoUnit.MINUTES), true);
    grid.awaitReadModelsEqualTheMeterTotals();
    // The models built without interruption, for the rows of this first load.
    bills = rows(BILL_ROWS);
    meters = rows(METER_ROWS);
    load = rows(LOAD_ROWS);
    assertThat(bills).hasSizeGreaterThanOrEqualTo(6);
    assertThat(load).hasSizeGreaterThanOrEqualTo(3);
  }

  @AfterAll
  static void stop() throws Exception {
    if (grid != null) {
      grid.close();
    }
  }

  @Test
  @Order(1)
  void billsRebuiltUnderLiveLoadEqualTheUninterruptedModelAndReadsAreNeverPartial()
      throws Exception {
    // A row corrupted by hand (not the one the readers poll): only a real rebuild removes it.
    Map<String, Object> polled = bills.get(0);
    assertThat(
            billingDb.<Integer, RuntimeException>withHandle(
                h ->
                    h.execute(
                        "UPDATE bill_usage SET kwh_peak = kwh_peak + 7"
                            + " WHERE account_id = ? AND period = ? AND meter_id = ?",
                        bills.get(bills.size() - 1).get("account_id"),
                        bills.get(bills.size() - 1).get("period"),
                        bills.get(bills.size() - 1).get("meter_id"))))
        .isEqualTo(1);
    String billPath =
        "/bills/"
            + polled.get("account_id")
            + "/"
            + ((java.sql.Date) polled.get("period")).toLocalDate().toString().substring(0, 7);
    JsonNode bill = grid.getBilling(billPath).path("bill");
    rebuildUnderLoad("bills", "rb", billPath, "bill", bill, "billedReadings");
    assertThat(rows(BILL_ROWS)).isEqualTo(bills);
    assertThat(rows(METER_ROWS)).isEqualTo(meters);
  }

  @Test
  @Order(2)
  void theLoadCurveRebuiltUnderLiveLoadEqualsTheUninterruptedModelAndReadsAreNeverPartial()
      throws Exception {
    Map<String, Object> gone = load.get(load.size() - 1);
    assertThat(
            billingDb.<Integer, RuntimeException>withHandle(
                h ->
                    h.execute(
                        "DELETE FROM feeder_load WHERE feeder_id = ? AND interval_start = ?",
                        gone.get("feeder_id"),
                        gone.get("interval_start"))))
        .isEqualTo(1);
    String curvePath =
        "/feeders/"
            + load.get(0).get("feeder_id")
            + "/load?from="
            + monthStart.minus(1, ChronoUnit.DAYS)
            + "&to="
            + monthStart.plus(5, ChronoUnit.DAYS);
    JsonNode curve = grid.getBilling(curvePath).path("curve");
    rebuildUnderLoad("load", "rc", curvePath, "curve", curve, "loadReadings");
    assertThat(rows(LOAD_ROWS)).isEqualTo(load);
  }

  @Test
  @Order(3)
  void afterBothRebuildsTheModelsEqualTheSourceRowByRow() throws Exception {
    grid.awaitReadModelsEqualTheMeterTotals();
    grid.postBilling("/reconcile")
        .path("runs")
        .forEach(
            run -> {
              assertThat(run.path("keysCompared").asLong()).as(run.toString()).isPositive();
              assertThat(run.path("driftsFound").asInt()).as(run.toString()).isZero();
              assertThat(run.path("error").isNull()).as(run.toString()).isTrue();
            });
    // A second rebuild while nothing happens changes nothing.
    JsonNode before = grid.summary();
    assertThat(awaitDone("bills", post("/rebuild/bills")).path("phase").asText()).isEqualTo("DONE");
    JsonNode after = grid.summary();
    assertThat(after.path("accounts")).isEqualTo(before.path("accounts"));
    assertThat(after.path("billedKwh").decimalValue())
        .isEqualByComparingTo(before.path("billedKwh").decimalValue());
  }

  /**
   * Rebuilds {@code model} while a simulator sends readings of meters {@code prefix}-*, polling
   * {@code path} (whose {@code field} must stay {@code expected}) and {@code /summary} (whose
   * {@code total} must never fall below what it was before nor exceed the source's readings).
   */
  private static void rebuildUnderLoad(
      String model, String prefix, String path, String field, JsonNode expected, String total)
      throws Exception {
    long totalBefore = grid.summary().path(total).asLong();
    long sourceBefore = grid.meterTotals().path("readings").asLong();
    JarProcess load =
        simulate(prefix, 8, 2, 100, "40s", monthStart.minus(40, ChronoUnit.DAYS), false);
    Queue<String> problems = new ConcurrentLinkedQueue<>();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger reads = new AtomicInteger();
    Thread reader =
        new Thread(
            () -> {
              long last = totalBefore;
              while (!stop.get()) {
                try {
                  JsonNode answer = grid.getBilling(path).path(field);
                  if (!answer.equals(expected)) {
                    problems.add(path + " answered " + answer + ", before the rebuild " + expected);
                  }
                  long seen = grid.summary().path(total).asLong();
                  long source = grid.meterTotals().path("readings").asLong();
                  if (seen < last || seen > source) {
                    problems.add(
                        total + " " + seen + " after " + last + " (source then " + source + ")");
                  }
                  last = seen;
                  reads.incrementAndGet();
                  Thread.sleep(50);
                } catch (Exception | AssertionError e) {
                  problems.add("read failed: " + e);
                }
              }
            },
            "reader-" + model);
    try {
      await()
          .atMost(Grid.WAIT)
          .until(() -> grid.meterTotals().path("readings").asLong() > sourceBefore + 200);
      reader.start();
      long sourceAtStart = grid.meterTotals().path("readings").asLong();
      JsonNode started = post("/rebuild/" + model);
      assertThat(started.path("phase").asText()).isIn("PREPARING", "BUILDING");
      assertThat(post("/rebuild/" + model, 409).path("message").asText()).contains("being rebuilt");
      Set<String> phases = new LinkedHashSet<>();
      List<Long> applied = new ArrayList<>();
      JsonNode done =
          awaitDone(
              model,
              started,
              p -> {
                phases.add(p.path("phase").asText());
                applied.add(p.path("eventsApplied").asLong());
                assertThat(p.path("streamPosition").asLong())
                    .isLessThanOrEqualTo(p.path("streamEnd").asLong());
              });
      // Under live load: the source took readings while the model was rebuilt.
      assertThat(grid.meterTotals().path("readings").asLong())
          .as("readings at the source when the rebuild ended")
          .isGreaterThan(sourceAtStart + 100);
      assertThat(done.path("phase").asText()).as(done.toString()).isEqualTo("DONE");
      assertThat(done.path("error").isNull()).isTrue();
      assertThat(phases).contains("BUILDING");
      assertThat(applied).isSorted();
      assertThat(done.path("eventsApplied").asLong()).isGreaterThan(totalBefore);
      assertThat(done.path("rowsAfter").asLong()).isPositive();
      // Reads go on after the swap, while the live consumer applies the rest of the load.
      int readsAtSwap = reads.get();
      await().atMost(Grid.WAIT).until(() -> reads.get() >= readsAtSwap + 3);
      assertThat(load.awaitExit(Grid.WAIT)).as(load.logTail()).isZero();
    } finally {
      stop.set(true);
      reader.join(30_000);
      load.close();
    }
    assertThat(problems).isEmpty();
    assertThat(reads.get()).isGreaterThan(5);
    grid.awaitReadModelsEqualTheMeterTotals();
  }

  private static JsonNode awaitDone(String model, JsonNode started) {
    return awaitDone(model, started, p -> {});
  }

  private static JsonNode awaitDone(
      String model, JsonNode started, java.util.function.Consumer<JsonNode> each) {
    JsonNode[] last = {started};
    await()
        .atMost(Grid.WAIT)
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              last[0] = grid.getBilling("/rebuild/" + model);
              each.accept(last[0]);
              return last[0].path("finishedAt").isTextual();
            });
    return last[0];
  }

  private static JsonNode post(String path) throws Exception {
    return post(path, 202);
  }

  private static JsonNode post(String path, int status) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(grid.billingUrl() + path))
                    .timeout(Grid.WAIT)
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("POST " + path + ": " + r.body()).isEqualTo(status);
    return Grid.JSON.readTree(r.body());
  }

  private static JarProcess simulate(
      String prefix,
      int meters,
      int feeders,
      int rate,
      String duration,
      Instant start,
      boolean wait)
      throws Exception {
    JarProcess simulator =
        grid.simulator(
            "--meters",
            Integer.toString(meters),
            "--feeders",
            Integer.toString(feeders),
            "--rate",
            Integer.toString(rate),
            "--duration",
            duration,
            "--batch",
            Integer.toString(meters),
            "--prefix",
            prefix,
            "--start",
            start.toString());
    if (wait) {
      try {
        assertThat(simulator.awaitExit(Grid.WAIT)).as(simulator.logTail()).isZero();
      } finally {
        simulator.close();
      }
    }
    return simulator;
  }

  private static List<Map<String, Object>> rows(String sql) {
    return billingDb.withHandle(h -> h.createQuery(sql).mapToMap().list());
  }
}
