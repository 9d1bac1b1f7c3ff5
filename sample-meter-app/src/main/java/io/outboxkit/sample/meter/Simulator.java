package io.outboxkit.sample.meter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The load simulator: registers N meters through the meter service's HTTP API, then sends their
 * 15-minute readings at a given rate for a given time, walking forward through simulated time (one
 * reading per meter per interval, interval after interval), so that a minute of load covers many
 * hours of daily curves ({@link LoadProfile}). The last interval ends at or before now: readings
 * are never in the future.
 *
 * <pre>
 * java -jar sample-meter-app.jar simulate --url http://127.0.0.1:8080 \
 *     --meters 200 --rate 400 --duration 60s --batch 50
 * </pre>
 *
 * <p>Requests that fail with an I/O error or a 5xx are retried (the meter service treats an
 * identical reading as a duplicate, so a retry never counts twice). Exit code 0 when every reading
 * was accepted, 1 otherwise.
 */
final class Simulator {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Settings of a run.
   *
   * @param url the meter service
   * @param meters how many meters
   * @param feeders how many feeders they hang on (round robin)
   * @param rate readings per second
   * @param duration how long to send
   * @param batch readings per request ({@code 1} uses the single-reading endpoint)
   * @param concurrency requests in flight at most
   * @param prefix prefix of meter, account and feeder ids
   * @param seed seed of the curves' noise
   * @param zone zone of the daily curves
   * @param start the end of the first interval; null: as late as possible
   */
  record Settings(
      URI url,
      int meters,
      int feeders,
      double rate,
      Duration duration,
      int batch,
      int concurrency,
      String prefix,
      long seed,
      ZoneId zone,
      Instant start) {

    /** The settings of {@code args}; null when {@code --help} was asked for. */
    static Settings parse(String[] args) {
      Options o = new Options();
      CommandLine cl = Options.commandLine(o);
      cl.parseArgs(args);
      if (cl.isUsageHelpRequested()) {
        return null;
      }
      int feeders = o.feeders == null ? Math.max(1, o.meters / 50) : o.feeders;
      positive(cl, "--meters", o.meters);
      positive(cl, "--feeders", feeders);
      positive(cl, "--rate", o.rate);
      positive(cl, "--batch", o.batch);
      positive(cl, "--concurrency", o.concurrency);
      if (o.duration.isNegative() || o.duration.isZero()) {
        throw new ParameterException(cl, "--duration must be > 0, got " + o.duration);
      }
      return new Settings(
          o.url,
          o.meters,
          feeders,
          o.rate,
          o.duration,
          o.batch,
          o.concurrency,
          o.prefix,
          o.seed,
          o.zone,
          o.start);
    }

    private static void positive(CommandLine cl, String option, double value) {
      if (value <= 0) {
        throw new ParameterException(cl, option + " must be > 0, got " + value);
      }
    }

    /** {@code 30s}, {@code 2m}, {@code 1h}, {@code 1500ms} or ISO-8601 ({@code PT1H}). */
    static Duration duration(String text) {
      String t = text.trim().toLowerCase(Locale.ROOT);
      try {
        if (t.startsWith("pt")) {
          return Duration.parse(t);
        }
        if (t.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
        }
        long n = Long.parseLong(t.substring(0, t.length() - 1));
        return switch (t.charAt(t.length() - 1)) {
          case 's' -> Duration.ofSeconds(n);
          case 'm' -> Duration.ofMinutes(n);
          case 'h' -> Duration.ofHours(n);
          default -> throw new IllegalArgumentException();
        };
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "'" + text + "' is no duration: use 30s, 2m, 1h, 1500ms");
      }
    }

    /** How many intervals the run covers: readings = rate × duration, one per meter each. */
    long intervals() {
      return Math.max(1, (long) Math.ceil(rate * duration.toMillis() / 1000.0 / meters));
    }

    /** The end of the first interval. */
    Instant firstReadingAt(Instant now) {
      if (start != null) {
        return start;
      }
      long slot = Requests.INTERVAL.toSeconds();
      Instant latest = Instant.ofEpochSecond(Math.floorDiv(now.getEpochSecond(), slot) * slot);
      return latest.minus(Requests.INTERVAL.multipliedBy(intervals() - 1));
    }
  }

  /** The command line of {@code simulate}, parsed by picocli. */
  @Command(
      name = "simulate",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description = "Registers meters through the meter service's API, then sends their readings.")
  static final class Options {
    @Option(names = "--url", description = "the meter service (default: ${DEFAULT-VALUE})")
    URI url = URI.create("http://127.0.0.1:8080");

    @Option(names = "--meters", description = "how many meters (default: ${DEFAULT-VALUE})")
    int meters = 100;

    @Option(
        names = "--feeders",
        description = "feeders the meters hang on, round robin (default: meters/50, at least 1)")
    Integer feeders;

    @Option(names = "--rate", description = "readings per second (default: ${DEFAULT-VALUE})")
    double rate = 200;

    @Option(
        names = "--duration",
        converter = DurationConverter.class,
        description = "how long to send: 30s, 2m, 1h, 1500ms, PT1H (default: 30s)")
    Duration duration = Duration.ofSeconds(30);

    @Option(
        names = "--batch",
        description = "readings per request; 1 uses the single-reading endpoint (default: 50)")
    int batch = 50;

    @Option(names = "--concurrency", description = "requests in flight at most (default: 4)")
    int concurrency = 4;

    @Option(
        names = "--prefix",
        description = "prefix of meter, account and feeder ids (default: ${DEFAULT-VALUE})")
    String prefix = "sim";

    @Option(names = "--seed", description = "seed of the curves' noise (default: 42)")
    long seed = 42;

    @Option(names = "--zone", description = "zone of the daily curves (default: UTC)")
    ZoneId zone = ZoneId.of("UTC");

    @Option(
        names = "--start",
        description =
            "end of the first interval, e.g. 2025-01-01T00:15:00Z (default: as late as possible,"
                + " the last interval ending at or before now)")
    Instant start;

    static CommandLine commandLine(Options o) {
      return new CommandLine(o).setCaseInsensitiveEnumValuesAllowed(true);
    }
  }

  /** picocli's hook for {@link Settings#duration(String)}. */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Settings.duration(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  /** The totals of a run. */
  record Result(long sent, long recorded, long duplicates, long rejected, long failed) {}

  /** How long to wait for the meters' onboarding (saga mode) to end. */
  private static final Duration ONBOARDING_WAIT = Duration.ofMinutes(5);

  private final Settings settings;
  private final HttpClient http;
  private final PrintStream out;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong recorded = new AtomicLong();
  private final AtomicLong duplicates = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  // Meters that take readings: ACTIVE at registration (direct mode) or once onboarded (saga mode).
  private final java.util.BitSet active = new java.util.BitSet();

  Simulator(Settings settings, PrintStream out) {
    this.settings = settings;
    this.out = out;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
  }

  static int run(String[] args) {
    Settings settings;
    try {
      settings = Settings.parse(args);
    } catch (ParameterException e) {
      System.err.println("simulate: " + e.getMessage());
      e.getCommandLine().usage(System.err);
      return 2;
    }
    if (settings == null) {
      Options.commandLine(new Options()).usage(System.out);
      return 0;
    }
    try {
      Result r = new Simulator(settings, System.out).run();
      return r.rejected() == 0 && r.failed() == 0 ? 0 : 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 130;
    } catch (IOException | RuntimeException e) {
      System.err.println("simulate: " + e.getMessage());
      return 1;
    }
  }

  String meterId(int i) {
    return String.format(Locale.ROOT, "%s-m%05d", settings.prefix(), i);
  }

  String accountId(int i) {
    // Households have an account each; two commercial meters share one account.
    LoadProfile.Kind kind = LoadProfile.forMeter(i, settings.seed(), settings.zone()).kind();
    return kind == LoadProfile.Kind.COMMERCIAL
        ? String.format(Locale.ROOT, "%s-c%05d", settings.prefix(), i / 10)
        : String.format(Locale.ROOT, "%s-h%05d", settings.prefix(), i);
  }

  String feederId(int i) {
    return String.format(Locale.ROOT, "%s-f%03d", settings.prefix(), i % settings.feeders());
  }

  Result run() throws IOException, InterruptedException {
    long started = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(settings.concurrency());
    try {
      register(pool);
      awaitOnboarding();
      Instant first = settings.firstReadingAt(Instant.now());
      out.printf(
          Locale.ROOT,
          "simulate: %d meters on %d feeders, %.0f readings/s for %s, intervals ending %s .. %s%n",
          settings.meters(),
          settings.feeders(),
          settings.rate(),
          settings.duration(),
          first,
          first.plus(Requests.INTERVAL.multipliedBy(settings.intervals() - 1)));
      send(pool, first);
    } finally {
      pool.shutdownNow();
      pool.awaitTermination(30, TimeUnit.SECONDS);
    }
    Result r =
        new Result(sent.get(), recorded.get(), duplicates.get(), rejected.get(), failed.get());
    double seconds = (System.nanoTime() - started) / 1e9;
    out.printf(
        Locale.ROOT,
        "simulate: sent=%d recorded=%d duplicates=%d rejected=%d failed=%d in %.1fs (%.0f/s)%n",
        r.sent(),
        r.recorded(),
        r.duplicates(),
        r.rejected(),
        r.failed(),
        seconds,
        r.sent() / Math.max(seconds, 0.001));
    return r;
  }

  private void register(ExecutorService pool) throws InterruptedException, IOException {
    List<Future<?>> done = new ArrayList<>();
    for (int i = 0; i < settings.meters(); i++) {
      int index = i;
      done.add(
          pool.submit(
              () -> {
                LoadProfile p = LoadProfile.forMeter(index, settings.seed(), settings.zone());
                ObjectNode body =
                    JSON.createObjectNode()
                        .put("meterId", meterId(index))
                        .put("accountId", accountId(index))
                        .put("feederId", feederId(index))
                        .put(
                            "tariff",
                            p.kind() == LoadProfile.Kind.COMMERCIAL
                                ? "commercial-tou"
                                : "residential-tou");
                HttpResponse<String> response = post("/meters", body.toString());
                if (response.statusCode() != 201 && response.statusCode() != 200) {
                  throw new IllegalStateException(
                      "registering "
                          + meterId(index)
                          + " answered "
                          + response.statusCode()
                          + ": "
                          + response.body());
                }
                String status =
                    JSON.readTree(response.body()).path("meter").path("status").asText();
                if (status.isEmpty() || status.equals("ACTIVE")) {
                  synchronized (active) {
                    active.set(index);
                  }
                }
                return null;
              }));
    }
    for (Future<?> f : done) {
      try {
        f.get();
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IOException(e.getCause().getMessage(), e.getCause());
      }
    }
  }

  /**
   * In saga mode meters are PENDING until the billing service answered (or the meter service gave
   * up on it): waits for every meter's onboarding to end; only ACTIVE meters send readings.
   */
  private void awaitOnboarding() throws IOException, InterruptedException {
    java.util.List<Integer> pending = new java.util.ArrayList<>();
    for (int i = 0; i < settings.meters(); i++) {
      if (!active.get(i)) {
        pending.add(i);
      }
    }
    if (pending.isEmpty()) {
      return;
    }
    long deadline = System.nanoTime() + ONBOARDING_WAIT.toNanos();
    java.util.Map<String, Integer> outcomes = new java.util.TreeMap<>();
    while (!pending.isEmpty()) {
      java.util.List<Integer> still = new java.util.ArrayList<>();
      for (int i : pending) {
        HttpResponse<String> r = get("/meters/" + meterId(i));
        String status =
            r.statusCode() == 200 ? JSON.readTree(r.body()).path("status").asText() : "PENDING";
        if (status.equals("PENDING")) {
          still.add(i);
        } else {
          outcomes.merge(status, 1, Integer::sum);
          if (status.equals("ACTIVE")) {
            active.set(i);
          }
        }
      }
      pending = still;
      if (!pending.isEmpty()) {
        if (System.nanoTime() > deadline) {
          outcomes.put("PENDING", pending.size());
          break;
        }
        TimeUnit.MILLISECONDS.sleep(250); // polling the meter service's API
      }
    }
    out.printf(
        Locale.ROOT,
        "simulate: onboarding ended for %d meters: %s; readings only for ACTIVE meters%n",
        settings.meters(),
        outcomes);
  }

  private void send(ExecutorService pool, Instant first) throws InterruptedException {
    long total = settings.intervals() * settings.meters();
    long batches = (total + settings.batch() - 1) / settings.batch();
    long nanosPerBatch = (long) (settings.batch() * 1e9 / settings.rate());
    long t0 = System.nanoTime();
    long deadline = t0 + settings.duration().toNanos();
    AtomicLong next = new AtomicLong();
    List<Future<?>> workers = new ArrayList<>();
    for (int w = 0; w < settings.concurrency(); w++) {
      workers.add(
          pool.submit(
              () -> {
                long b;
                while ((b = next.getAndIncrement()) < batches) {
                  long due = t0 + b * nanosPerBatch;
                  if (due >= deadline) {
                    return null;
                  }
                  long wait = due - System.nanoTime();
                  if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait); // pacing to the offered rate
                  }
                  sendBatch(
                      first, b * settings.batch(), Math.min(total, (b + 1) * settings.batch()));
                }
                return null;
              }));
    }
    for (Future<?> f : workers) {
      try {
        f.get();
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
      }
    }
  }

  /** Readings number {@code from} (inclusive) to {@code to}: reading k is meter k % N. */
  private void sendBatch(Instant first, long from, long to) throws InterruptedException {
    ArrayNode readings = JSON.createArrayNode();
    for (long k = from; k < to; k++) {
      int meter = (int) (k % settings.meters());
      if (!active.get(meter)) {
        continue;
      }
      Instant at = first.plus(Requests.INTERVAL.multipliedBy(k / settings.meters()));
      readings
          .addObject()
          .put("meterId", meterId(meter))
          .put("readingAt", at.toString())
          .put("kwh", LoadProfile.forMeter(meter, settings.seed(), settings.zone()).kwh(at));
    }
    int n = readings.size();
    if (n == 0) {
      return;
    }
    String path;
    String body;
    if (settings.batch() == 1) {
      ObjectNode one = (ObjectNode) readings.get(0);
      path = "/meters/" + one.remove("meterId").asText() + "/readings";
      body = one.toString();
    } else {
      path = "/readings";
      body = JSON.createObjectNode().set("readings", readings).toString();
    }
    sent.addAndGet(n);
    for (int attempt = 1; ; attempt++) {
      try {
        HttpResponse<String> response = post(path, body);
        int status = response.statusCode();
        if (status == 200 || status == 201) {
          var answer = JSON.readTree(response.body());
          recorded.addAndGet(answer.path("recorded").asLong());
          duplicates.addAndGet(answer.path("duplicates").asLong());
          return;
        }
        if (status < 500 || attempt >= 5) {
          rejected.addAndGet(n);
          System.err.println("simulate: " + path + " answered " + status + ": " + response.body());
          return;
        }
      } catch (IOException e) {
        if (attempt >= 5) {
          failed.addAndGet(n);
          System.err.println("simulate: " + path + " failed: " + e);
          return;
        }
      }
      TimeUnit.MILLISECONDS.sleep(100L << attempt); // back-off before a retry
    }
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(settings.url().resolve(path))
            .timeout(Duration.ofSeconds(30))
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, String body)
      throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(settings.url().resolve(path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
