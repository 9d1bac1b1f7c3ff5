package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.UuidV7;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 13 item 2: the relay's live status page, loaded in headless Chromium (Debian's {@code
 * chromium}) while several writers commit outbox rows (every shape: single rows, multi-row INSERT,
 * COPY, larger transactions; and rows with Unicode ids, headers and payloads), checked against the
 * running relay: state STREAMING and role active, events acknowledged consistent with the stream's
 * message count, lag percentiles and throughput present, retained WAL measured, the one row made
 * bad on purpose (a reserved header {@code Nats-Foo<b>x</b>}) counted as a {@code reserved_header}
 * dead letter and its reason listed among the last errors as text, not markup. After the writers
 * stop and the stream holds every row, the page shows exactly that many events and stream messages.
 * A second relay on the same slot shows STANDBY, role standby, no lock and no stream. The
 * screenshot is kept as {@code target/failsafe-reports/status-page.png}.
 */
class StatusPageIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String BAD_HEADER = "Nats-Foo<b>x</b>";

  /** The relay's default publish.max-in-flight: acks may trail the stream by at most this. */
  private static final int MAX_IN_FLIGHT = 4000;

  private static final Path REPORTS = Path.of("target", "failsafe-reports");

  @Test
  void thePageShowsTheRunningRelayUnderLoad() throws Exception {
    String chromium = chromium();
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    String stream = infra.streamName() + "_SP";
    Connection nc = infra.nats();
    Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream);
    Path profile = Files.createTempDirectory("status-page-chromium");
    String payloadMarker = "payload-marker-" + UUID.randomUUID();

    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(120));
      String url = "http://127.0.0.1:" + relay.port() + "/status";

      List<LoadWriter> shapes = new ArrayList<>();
      List<UnicodeWriter> unicode = new ArrayList<>();
      long total;
      try {
        long writersStarted = System.currentTimeMillis();
        for (int i = 0; i < 2; i++) {
          shapes.add(new LoadWriter(infra.dataSource(), 40));
          unicode.add(new UnicodeWriter(infra.dataSource(), "w" + i));
        }
        String badId = writeBadRow(infra.dataSource(), payloadMarker);

        // The relay has seen load for a while: the dead letter, lag samples, a rate, a WAL figure.
        awaitStatus(
            relay,
            "status.json with the dead letter, lag samples, a rate and retained WAL",
            Duration.ofSeconds(120),
            s ->
                s.at("/deadLetters/byKind/reserved_header").asLong() == 1
                    && s.at("/lag/samples").asLong() > 0
                    && s.at("/throughput/eventsPerSecond").asDouble() > 0
                    && s.at("/wal/retainedBytes").isNumber());

        // --- under load: what the page shows, between two readings of the stream ---------------
        long before = StreamContents.count(nc, stream);
        Dom page = new Dom(dumpDom(chromium, profile, url));
        long sinceFirstWrite = System.currentTimeMillis() - writersStarted;
        long after = StreamContents.count(nc, stream);
        screenshot(chromium, profile, url, REPORTS.resolve("status-page.png"));

        assertThat(page.attr("body", "data-rendered")).as("the script rendered").isNotEqualTo("0");
        assertThat(page.text("state")).isEqualTo("STREAMING");
        assertThat(page.text("role")).isEqualTo("active");
        assertThat(page.text("lock")).isEqualTo("yes");
        assertThat(page.text("nats")).isEqualTo("CONNECTED");
        assertThat(page.text("stream-name")).isEqualTo(stream);
        long events = page.number("events-total");
        long messages = page.number("stream-messages");
        assertThat(events)
            .as(
                "events acked (page) against the stream's count before (%d) and after (%d)",
                before, after)
            .isPositive()
            .isLessThanOrEqualTo(after)
            .isGreaterThanOrEqualTo(before - MAX_IN_FLIGHT);
        assertThat(messages).isPositive().isLessThanOrEqualTo(after);
        assertThat(page.decimal("rate")).as("events/s").isPositive();
        assertThat(page.number("events-window")).isPositive();
        double p50 = page.decimal("lag-p50");
        double p99 = page.decimal("lag-p99");
        assertThat(p50).as("lag p50 ms").isPositive().isLessThanOrEqualTo(p99);
        // No event can have waited longer than the writers have been writing (a wrong unit would).
        assertThat(page.decimal("lag-max"))
            .as("lag max ms, writers started %d ms before", sinceFirstWrite)
            .isGreaterThanOrEqualTo(p99)
            .isLessThanOrEqualTo(sinceFirstWrite + 1000.0);
        assertThat(page.text("lag-p99")).matches("[0-9.,]+ m?s");
        assertThat(page.number("wal")).as("retained WAL bytes").isGreaterThanOrEqualTo(0);
        assertThat(page.text("wal")).matches("[0-9.]+ (B|KiB|MiB|GiB)");
        assertThat(page.decimal("heartbeat")).as("heartbeat age s").isLessThan(30);
        assertThat(page.number("duplicates")).isZero();
        assertDeadLetterShown(page, badId, payloadMarker);

        // --- writers stopped, everything relayed: the page shows exact figures ------------------
        total = 1; // the bad row, dead-lettered
        for (LoadWriter w : shapes) {
          List<String> ids = w.stop();
          assertThat(w.failures()).as("writer failures: " + w.lastFailure()).isZero();
          total += ids.size();
        }
        for (UnicodeWriter w : unicode) {
          total += w.stop();
        }
        final long expected = total;
        StreamContents.awaitCount(nc, stream, expected, Duration.ofSeconds(180));
        awaitStatus(
            relay,
            "status.json showing " + expected + " events and stream messages",
            Duration.ofSeconds(60),
            s ->
                s.at("/throughput/eventsTotal").asLong() == expected
                    && s.at("/stream/messages").asLong() == expected);
        Dom settled = new Dom(dumpDom(chromium, profile, url));
        assertThat(StreamContents.count(nc, stream)).as("nothing stored twice").isEqualTo(expected);
        assertThat(settled.number("events-total")).isEqualTo(expected);
        assertThat(settled.number("stream-messages")).isEqualTo(expected);
        assertThat(settled.number("duplicates")).isZero();
        assertThat(settled.number("dl-in-stream")).isEqualTo(1);
        assertThat((long) relay.metric("outboxkit_relay_events_published_total"))
            .as("the page and /prometheus agree")
            .isEqualTo(expected);
        assertDeadLetterShown(settled, badId, payloadMarker);

        // The JSON companion: what the page renders, for scripts.
        HttpResponse<String> json = relay.request("GET", "/status.json");
        assertThat(json.statusCode()).isEqualTo(200);
        assertThat(json.headers().firstValue("Content-Type").orElse("")).contains("json");
        JsonNode s = JSON.readTree(json.body());
        assertThat(s.at("/relay/state").asText()).isEqualTo("STREAMING");
        assertThat(s.at("/relay/role").asText()).isEqualTo("active");
        assertThat(s.at("/deadLetters/subject").asText()).isEqualTo(infra.prefix() + "-dlq.relay");
        assertThat(json.body()).doesNotContain(payloadMarker);
        HttpResponse<String> html = relay.request("GET", "/status");
        assertThat(html.headers().firstValue("Content-Security-Policy").orElse(""))
            .contains("default-src 'none'")
            .contains("script-src 'sha256-");

        // A second relay on the same slot waits as standby, and its page says so.
        try (RelayProcess standby = new RelayProcess(env).start()) {
          standby.awaitState("STANDBY", Duration.ofSeconds(120));
          Dom other =
              new Dom(dumpDom(chromium, profile, "http://127.0.0.1:" + standby.port() + "/status"));
          assertThat(other.text("state")).isEqualTo("STANDBY");
          assertThat(other.text("role")).isEqualTo("standby");
          assertThat(other.text("lock")).isEqualTo("no");
          assertThat(other.number("events-total")).isZero();
          assertThat(other.text("stream-messages")).isEqualTo("standby: not connected to NATS");
          assertThat(other.text("heartbeat")).isEqualTo("—");
          JsonNode first = statusJson(relay);
          assertThat(first).isNotNull();
          assertThat(first.at("/relay/role").asText()).as("the first one").isEqualTo("active");
          assertThat(first.at("/relay/state").asText()).isEqualTo("STREAMING");
        }
      } finally {
        for (LoadWriter w : shapes) {
          w.close();
        }
        for (UnicodeWriter w : unicode) {
          w.stop();
        }
      }
    } finally {
      deleteTree(profile);
    }
    Path png = REPORTS.resolve("status-page.png");
    BufferedImage image = ImageIO.read(png.toFile());
    assertThat(image).as("a PNG at " + png.toAbsolutePath()).isNotNull();
    assertThat(image.getWidth()).isEqualTo(1280);
    assertThat(image.getHeight()).isEqualTo(900);
    assertThat(colours(image)).as("colours in the screenshot (not a blank page)").isGreaterThan(20);
  }

  /**
   * The dead letter: counted under its kind, its reason listed as text. The header name holds
   * markup ({@code <b>x</b>}): it must appear escaped, never as an element; the row's payload never
   * appears.
   */
  private static void assertDeadLetterShown(Dom page, String badId, String payloadMarker) {
    assertThat(page.number("dl-since-start")).isEqualTo(1);
    assertThat(page.kindCount("reserved_header")).isEqualTo(1);
    String errors = page.inner("ol", "errors");
    assertThat(errors)
        .contains(badId)
        .contains("reserved_header")
        .contains("Nats-Foo&lt;b&gt;x&lt;/b&gt; is reserved");
    assertThat(page.html).doesNotContain("<b>x</b>").doesNotContain(payloadMarker);
  }

  // --- the bad row and the writers -----------------------------------------------------------

  private static String writeBadRow(DataSource ds, String payloadMarker) throws Exception {
    UUID id = UuidV7.next();
    try (java.sql.Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO public.outbox"
                    + " (id, aggregate_type, aggregate_id, event_type, payload, headers)"
                    + " VALUES (?, 'meter', 'bad-row', 'ReadingRecorded', ?, ?::jsonb)")) {
      c.setAutoCommit(true);
      ps.setObject(1, id);
      ps.setBytes(2, ("{\"secret\":\"" + payloadMarker + "\"}").getBytes(StandardCharsets.UTF_8));
      ps.setString(3, JSON.writeValueAsString(Map.of(BAD_HEADER, "1")));
      ps.executeUpdate();
    }
    return id.toString();
  }

  /**
   * Commits transactions of 1-5 rows with Unicode aggregate ids, header values and payloads
   * (umlauts, CJK, emoji, CR/LF), paced; counts the rows committed.
   */
  private static final class UnicodeWriter {
    private static final String[] TEXTS = {
      "Zähler Grüße aus Köln",
      "電力メーター 日本語",
      "⚡🔌 Stromzähler 🌩️",
      "line one\r\nline two ü",
      "Ærø — œuvre — ß"
    };
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicInteger committed = new AtomicInteger();
    private final Thread thread;
    private volatile Exception failure;

    UnicodeWriter(DataSource ds, String name) {
      this.thread = new Thread(() -> run(ds, name), "unicode-writer-" + name);
      thread.setDaemon(true);
      thread.start();
    }

    private void run(DataSource ds, String name) {
      ThreadLocalRandom r = ThreadLocalRandom.current();
      int n = 0;
      try (java.sql.Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO public.outbox"
                      + " (id, aggregate_type, aggregate_id, event_type, payload, headers)"
                      + " VALUES (?, 'zähler', ?, 'MesswertErfasst', ?, ?::jsonb)")) {
        c.setAutoCommit(false);
        while (running.get()) {
          int rows = 1 + r.nextInt(5);
          for (int i = 0; i < rows; i++, n++) {
            String text = TEXTS[n % TEXTS.length];
            ps.setObject(1, UuidV7.next());
            ps.setString(2, "Zähler-" + name + "-" + (n % 40) + "-⚡");
            ps.setBytes(
                3,
                JSON.writeValueAsString(Map.of("n", n, "note", text))
                    .getBytes(StandardCharsets.UTF_8));
            ps.setString(4, JSON.writeValueAsString(Map.of("x-note", text, "x-writer", name)));
            ps.addBatch();
          }
          ps.executeBatch();
          c.commit();
          committed.addAndGet(rows);
          // Pacing of the load generator, not a wait for a condition.
          TimeUnit.MILLISECONDS.sleep(15);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        failure = e;
      }
    }

    /** Stops; the rows committed. */
    int stop() throws InterruptedException {
      running.set(false);
      thread.join(60_000);
      if (failure != null) {
        fail("unicode writer failed", failure);
      }
      return committed.get();
    }
  }

  // --- the relay's JSON and Chromium ---------------------------------------------------------

  /** Waits until status.json satisfies {@code condition}; on timeout, says what it last showed. */
  private static void awaitStatus(
      RelayProcess relay, String what, Duration timeout, Predicate<JsonNode> condition) {
    AtomicReference<JsonNode> last = new AtomicReference<>();
    try {
      Ports.await(
          what,
          timeout,
          () -> {
            JsonNode s = statusJson(relay);
            last.set(s);
            return s != null && condition.test(s);
          });
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError(
          e.getMessage() + "\nlast status.json: " + last.get() + "\nlog:\n" + relay.logTail(), e);
    }
  }

  private static JsonNode statusJson(RelayProcess relay) {
    try {
      HttpResponse<String> r = relay.request("GET", "/status.json");
      return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Debian's chromium on the PATH (.ci/run installs it). */
  private static String chromium() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      for (String name : List.of("chromium", "chromium-browser")) {
        Path p = Path.of(dir, name);
        if (Files.isExecutable(p)) {
          return p.toString();
        }
      }
    }
    return fail(
        "chromium is not installed; this test renders the status page in it. Install it:"
            + " apt-get install -y chromium (.ci/run does)");
  }

  private static String dumpDom(String chromium, Path profile, String url) throws Exception {
    return run(chromium, profile, "--virtual-time-budget=5000", "--dump-dom", url);
  }

  private static void screenshot(String chromium, Path profile, String url, Path png)
      throws Exception {
    Files.createDirectories(png.getParent());
    Files.deleteIfExists(png);
    run(
        chromium,
        profile,
        "--virtual-time-budget=5000",
        "--hide-scrollbars",
        "--window-size=1280,900",
        "--screenshot=" + png.toAbsolutePath(),
        url);
    assertThat(png).exists();
  }

  /** Runs headless Chromium once; its standard output. */
  private static String run(String chromium, Path profile, String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--user-data-dir=" + profile.toAbsolutePath()));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile("chromium", ".out");
    Path err = Files.createTempFile("chromium", ".err");
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    try {
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        fail("chromium did not finish within 180 s: " + tail(err));
      }
      assertThat(p.exitValue()).as("chromium exit status; stderr:\n" + tail(err)).isZero();
      return Files.readString(out, StandardCharsets.UTF_8);
    } finally {
      if (p.isAlive()) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      }
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static String tail(Path file) throws IOException {
    String s = Files.readString(file, StandardCharsets.UTF_8);
    return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
  }

  private static int colours(BufferedImage image) {
    Set<Integer> seen = new HashSet<>();
    for (int y = 0; y < image.getHeight(); y += 3) {
      for (int x = 0; x < image.getWidth(); x += 3) {
        seen.add(image.getRGB(x, y));
      }
    }
    return seen.size();
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * The DOM Chromium dumped after the script ran. Elements are found by id; their text is what the
   * script set with {@code textContent} (HTML entities decoded), {@code data-value} the raw number.
   */
  private static final class Dom {
    private static final Pattern ATTR = Pattern.compile("([a-zA-Z-]+)=\"([^\"]*)\"");
    final String html;

    Dom(String html) {
      this.html = html;
    }

    private Matcher element(String id) {
      Matcher m =
          Pattern.compile("<([a-z0-9]+)([^>]*\\bid=\"" + Pattern.quote(id) + "\"[^>]*)>([^<]*)")
              .matcher(html);
      if (!m.find()) {
        fail("no element with id " + id + " in the page:\n" + html);
      }
      return m;
    }

    String text(String id) {
      return unescape(element(id).group(3)).strip();
    }

    private Map<String, String> attrs(String startTag) {
      Map<String, String> a = new LinkedHashMap<>();
      Matcher m = ATTR.matcher(startTag);
      while (m.find()) {
        a.put(m.group(1), unescape(m.group(2)));
      }
      return a;
    }

    /** An attribute of the first element named {@code tag}. */
    String attr(String tag, String name) {
      Matcher m = Pattern.compile("<" + tag + "\\b([^>]*)>").matcher(html);
      assertThat(m.find()).as("<" + tag + "> in the page").isTrue();
      return attrs(m.group(1)).get(name);
    }

    String value(String id) {
      String v = attrs(element(id).group(2)).get("data-value");
      if (v == null || v.isEmpty()) {
        fail("element " + id + " has no value (text: " + text(id) + ")");
      }
      return v;
    }

    long number(String id) {
      return Long.parseLong(value(id));
    }

    double decimal(String id) {
      return Double.parseDouble(value(id));
    }

    /** The count in the dead-letter table's row of {@code kind}, or -1. */
    long kindCount(String kind) {
      Matcher m =
          Pattern.compile(
                  "<tr data-kind=\""
                      + Pattern.quote(kind)
                      + "\"><td>[^<]*</td><td data-value=\"(\\d+)\">")
              .matcher(html);
      return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The markup inside the element {@code <tag id="id">}. */
    String inner(String tag, String id) {
      int start = html.indexOf("<" + tag + " id=\"" + id + "\"");
      assertThat(start).as("<" + tag + " id=" + id + "> in the page").isNotNegative();
      int end = html.indexOf("</" + tag + ">", start);
      return html.substring(start, end);
    }

    private static String unescape(String s) {
      return s.replace("&lt;", "<")
          .replace("&gt;", ">")
          .replace("&quot;", "\"")
          .replace("&nbsp;", "\u00a0")
          .replace("&amp;", "&");
    }
  }
}
