package io.outboxkit.sample.billing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The demo's convergence check: compares the meter service's totals (the source of truth) with both
 * read models of the billing service, until they agree or a deadline passes, then prints a report.
 *
 * <pre>
 * java -jar sample-billing-app.jar report --meter-url http://127.0.0.1:8080 \
 *     --billing-url http://127.0.0.1:8081 --timeout 120s
 * </pre>
 *
 * <p>Converged means: every account-month of the bills has the meter service's kWh and reading
 * count, every feeder interval of the load curves too, both read models hold every reading once,
 * the stream holds every outbox row once, and neither consumer has anything pending. Exit code 0
 * when converged, 1 when not.
 */
final class ConvergenceReport {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int SHOWN = 5;

  private ConvergenceReport() {}

  /** One poll of both services. */
  record Snapshot(JsonNode meter, JsonNode billing) {}

  /**
   * What does not (yet) agree between the source of truth and the read models, the stream and the
   * consumers; empty when converged.
   */
  static List<String> differences(JsonNode meter, JsonNode billing) {
    List<String> problems = readModelDifferences(meter, billing);
    long outboxRows = meter.path("outboxRows").asLong();
    JsonNode stream = billing.path("stream");
    if (stream.isObject()) {
      long relayed = stream.path("meterEvents").asLong();
      if (relayed != outboxRows) {
        problems.add(
            "the stream holds " + relayed + " meter events for " + outboxRows + " outbox rows");
      }
    } else {
      problems.add("the stream's counts are unknown (is the billing service connected to NATS?)");
    }
    problems.addAll(consumerDifferences(billing));
    return problems;
  }

  /** Whether the consumers run and have nothing pending. */
  static List<String> consumerDifferences(JsonNode billing) {
    List<String> problems = new ArrayList<>();
    for (JsonNode c : billing.path("consumers")) {
      if (!c.path("running").asBoolean()) {
        problems.add("consumer " + c.path("consumer").asText() + " is not running");
      } else if (c.path("pending").isNull() || c.path("pending").asLong() != 0) {
        problems.add(
            "consumer "
                + c.path("consumer").asText()
                + " has "
                + c.path("pending").asText()
                + " pending");
      }
    }
    return problems;
  }

  /**
   * Whether both read models hold exactly the meter service's readings: per account and month, per
   * feeder and interval, kWh and reading counts; a reading lost or applied twice shows here.
   */
  static List<String> readModelDifferences(JsonNode meter, JsonNode billing) {
    List<String> problems = new ArrayList<>();
    long readings = meter.path("readings").asLong();
    if (billing.path("billedReadings").asLong() != readings) {
      problems.add(
          "billing holds "
              + billing.path("billedReadings").asLong()
              + " of "
              + readings
              + " readings");
    }
    if (billing.path("loadReadings").asLong() != readings) {
      problems.add(
          "grid load holds "
              + billing.path("loadReadings").asLong()
              + " of "
              + readings
              + " readings");
    }
    compare(
        "bill",
        rows(meter.path("accounts"), "accountId", "period"),
        rows(billing.path("accounts"), "accountId", "period"),
        problems);
    compare(
        "load",
        rows(meter.path("feeders"), "feederId", "intervalStart"),
        rows(billing.path("feeders"), "feederId", "intervalStart"),
        problems);
    return problems;
  }

  private record Row(BigDecimal kwh, long readings) {
    boolean sameAs(Row o) {
      return o != null && kwh.compareTo(o.kwh) == 0 && readings == o.readings;
    }

    @Override
    public String toString() {
      return kwh.toPlainString() + " kWh in " + readings + " readings";
    }
  }

  private static Map<String, Row> rows(JsonNode list, String keyA, String keyB) {
    Map<String, Row> rows = new HashMap<>();
    for (JsonNode n : list) {
      rows.put(
          n.path(keyA).asText() + " " + n.path(keyB).asText(),
          new Row(n.path("kwh").decimalValue(), n.path("readings").asLong()));
    }
    return rows;
  }

  private static void compare(
      String what, Map<String, Row> truth, Map<String, Row> model, List<String> problems) {
    TreeSet<String> keys = new TreeSet<>(truth.keySet());
    keys.addAll(model.keySet());
    int wrong = 0;
    List<String> shown = new ArrayList<>();
    for (String key : keys) {
      Row t = truth.get(key);
      Row m = model.get(key);
      if (t == null || !t.sameAs(m)) {
        wrong++;
        if (shown.size() < SHOWN) {
          shown.add(
              key
                  + ": meter "
                  + (t == null ? "nothing" : t)
                  + ", "
                  + what
                  + " "
                  + (m == null ? "nothing" : m));
        }
      }
    }
    if (wrong > 0) {
      problems.add(wrong + " of " + keys.size() + " " + what + " rows differ, e.g. " + shown);
    }
  }

  /** The command line of {@code report}, parsed by picocli. */
  @Command(
      name = "report",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description =
          "Compares the meter service's totals with billing's read models until they agree or the"
              + " timeout passes; exit code 0 when converged.")
  static final class Options {
    @Option(names = "--meter-url", description = "the meter service (default: ${DEFAULT-VALUE})")
    URI meterUrl = URI.create("http://127.0.0.1:8080");

    @Option(
        names = "--billing-url",
        description = "the billing service (default: ${DEFAULT-VALUE})")
    URI billingUrl = URI.create("http://127.0.0.1:8081");

    @Option(
        names = "--timeout",
        converter = Seconds.class,
        description = "how long to wait for convergence: 120s, 120 or PT2M (default: 120s)")
    Duration timeout = Duration.ofSeconds(120);
  }

  /** {@code 120s} or {@code 120} (seconds), or ISO-8601 ({@code PT2M}). */
  static final class Seconds implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String t = value.trim();
      try {
        if (t.toUpperCase(Locale.ROOT).startsWith("PT")) {
          return Duration.parse(t);
        }
        return Duration.ofSeconds(
            Long.parseLong(t.endsWith("s") ? t.substring(0, t.length() - 1) : t));
      } catch (RuntimeException e) {
        throw new CommandLine.TypeConversionException(
            "'" + value + "' is no duration: use 120s, 120 or PT2M");
      }
    }
  }

  /** The options of {@code args}, null for --help; picocli's ParameterException names a bad one. */
  static Options parse(String... args) {
    Options o = new Options();
    CommandLine cl = new CommandLine(o);
    cl.parseArgs(args);
    return cl.isUsageHelpRequested() ? null : o;
  }

  static int run(String[] args) {
    Options o;
    try {
      o = parse(args);
    } catch (ParameterException e) {
      System.err.println("report: " + e.getMessage());
      e.getCommandLine().usage(System.err);
      return 2;
    }
    if (o == null) {
      new CommandLine(new Options()).usage(System.out);
      return 0;
    }
    try {
      return report(o.meterUrl, o.billingUrl, o.timeout, System.out) ? 0 : 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 130;
    }
  }

  /** Polls until converged or {@code timeout}; prints the report; true when converged. */
  static boolean report(URI meterUrl, URI billingUrl, Duration timeout, PrintStream out)
      throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    long lastPrint = 0;
    Snapshot s = null;
    List<String> problems = List.of("no answer yet");
    while (true) {
      try {
        JsonNode billing = get(http, billingUrl.resolve("/summary"));
        String zone = billing.path("zone").isTextual() ? billing.path("zone").asText() : "UTC";
        JsonNode meter =
            get(
                http,
                meterUrl.resolve(
                    "/totals?zone=" + URLEncoder.encode(zone, StandardCharsets.UTF_8)));
        s = new Snapshot(meter, billing);
        problems = differences(meter, billing);
      } catch (IOException e) {
        problems = List.of("a service did not answer: " + e.getMessage());
      }
      if (problems.isEmpty() || System.nanoTime() > deadline) {
        break;
      }
      if (System.nanoTime() - lastPrint > 5_000_000_000L) {
        lastPrint = System.nanoTime();
        out.println("report: waiting for convergence: " + problems.get(0));
      }
      Thread.sleep(500); // polling interval of a command-line tool
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    print(s, problems, seconds, out);
    return problems.isEmpty();
  }

  private static void print(Snapshot s, List<String> problems, double seconds, PrintStream out) {
    out.println();
    out.println("=== convergence report ===");
    if (s != null) {
      JsonNode m = s.meter();
      JsonNode b = s.billing();
      out.printf(
          Locale.ROOT,
          "meter service (source of truth): %d meters, %d readings, %s kWh, %d outbox rows%n",
          m.path("meters").asLong(),
          m.path("readings").asLong(),
          m.path("kwh").decimalValue().toPlainString(),
          m.path("outboxRows").asLong());
      JsonNode stream = b.path("stream");
      if (stream.isObject()) {
        out.printf(
            Locale.ROOT,
            "relayed to JetStream stream %s: %d meter events %s%n",
            stream.path("stream").asText(),
            stream.path("meterEvents").asLong(),
            stream.path("subjects"));
      }
      for (JsonNode c : b.path("consumers")) {
        out.printf(
            Locale.ROOT,
            "consumer %-9s: %d events applied, pending %s, read model as of %s, last event applied %s ms after its commit%n",
            c.path("consumer").asText(),
            c.path("events").asLong(),
            c.path("pending").asText(),
            c.path("asOf").asText(),
            c.path("lastLagMs").asText());
      }
      out.printf(
          Locale.ROOT,
          "bills    : %d account-months, %d readings, %s kWh (meter service: %d account-months, %s kWh)%n",
          b.path("accounts").size(),
          b.path("billedReadings").asLong(),
          b.path("billedKwh").decimalValue().toPlainString(),
          m.path("accounts").size(),
          m.path("kwh").decimalValue().toPlainString());
      out.printf(
          Locale.ROOT,
          "grid load: %d feeder intervals, %d readings, %s kWh (meter service: %d feeder intervals)%n",
          b.path("feeders").size(),
          b.path("loadReadings").asLong(),
          b.path("loadKwh").decimalValue().toPlainString(),
          m.path("feeders").size());
    }
    if (problems.isEmpty()) {
      out.printf(
          Locale.ROOT,
          "CONVERGED: every reading billed once and in the load curve once (checked in %.1f s)%n",
          seconds);
    } else {
      out.printf(Locale.ROOT, "NOT CONVERGED after %.1f s:%n", seconds);
      problems.forEach(p -> out.println("  - " + p));
    }
  }

  private static JsonNode get(HttpClient http, URI uri) throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException(uri + " answered " + r.statusCode());
    }
    return Objects.requireNonNull(JSON.readTree(r.body()));
  }
}
