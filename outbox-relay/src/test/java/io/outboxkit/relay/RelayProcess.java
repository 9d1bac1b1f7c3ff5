package io.outboxkit.relay;

import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The relay as a real separate process ({@code java -jar target/outbox-relay-*.jar}), configured by
 * environment variables, so that tests can SIGKILL or SIGTERM it.
 */
final class RelayProcess implements AutoCloseable {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final Map<String, String> env;
  private final int port;
  private final Path log;
  private Process process;

  RelayProcess(Map<String, String> env) {
    this.env = new LinkedHashMap<>(env);
    this.port = Ports.free();
    this.env.put("OUTBOXKIT_RELAY_HTTP_PORT", Integer.toString(port));
    this.env.put("OUTBOXKIT_RELAY_HTTP_HOST", "127.0.0.1");
    try {
      this.log = Files.createTempFile("outboxkit-relay-", ".log");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Settings for a relay of the class's own database, the given NATS and stream. */
  static Map<String, String> env(TestInfra infra, String natsUrl, String stream) {
    return env(
        infra.pgHost(),
        infra.pgPort(),
        infra.database(),
        infra.pgUser(),
        infra.pgPassword(),
        natsUrl,
        stream,
        infra.prefix());
  }

  /** Settings for a relay of a private PostgreSQL's {@code postgres} database. */
  static Map<String, String> env(
      io.outboxkit.testing.PostgresProcess pg, String natsUrl, String stream, String prefix) {
    return env(pg.host(), pg.port(), "postgres", "postgres", "unused", natsUrl, stream, prefix);
  }

  static Map<String, String> env(
      String host,
      int port,
      String database,
      String user,
      String password,
      String natsUrl,
      String stream,
      String prefix) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("OUTBOXKIT_RELAY_DATABASE_HOST", host);
    env.put("OUTBOXKIT_RELAY_DATABASE_PORT", Integer.toString(port));
    env.put("OUTBOXKIT_RELAY_DATABASE_NAME", database);
    env.put("OUTBOXKIT_RELAY_DATABASE_USER", user);
    env.put("OUTBOXKIT_RELAY_DATABASE_PASSWORD", password);
    env.put("OUTBOXKIT_RELAY_NATS_SERVERS", natsUrl);
    env.put("OUTBOXKIT_RELAY_STREAM_NAME", stream);
    env.put("OUTBOXKIT_RELAY_STREAM_SUBJECTS", prefix + ".>," + prefix + "-dlq.>");
    env.put("OUTBOXKIT_RELAY_SUBJECT_TEMPLATE", prefix + ".{aggregate_type}.{event_type}");
    env.put("OUTBOXKIT_RELAY_DEAD_LETTER_SUBJECT", prefix + "-dlq.relay");
    env.put("OUTBOXKIT_RELAY_SLOT_NAME", prefix + "_slot");
    env.put("OUTBOXKIT_RELAY_PUBLICATION_NAME", prefix + "_pub");
    env.put("OUTBOXKIT_RELAY_SLOT_CHECK_INTERVAL", "1s");
    env.put("OUTBOXKIT_RELAY_STANDBY_POLL_INTERVAL", "500ms");
    env.put("OUTBOXKIT_RELAY_ENGINE_RESTART_BACKOFF", "500ms");
    env.put("OUTBOXKIT_RELAY_ENGINE_RESTART_BACKOFF_MAX", "2s");
    env.put("OUTBOXKIT_RELAY_PUBLISH_RETRY_BACKOFF_MAX", "1s");
    env.put("OUTBOXKIT_RELAY_PUBLISH_ACK_TIMEOUT", "3s");
    return env;
  }

  static Path jar() {
    Path target = Path.of("target");
    try (Stream<Path> files = Files.list(target)) {
      return files
          .filter(p -> p.getFileName().toString().matches("outbox-relay-.*\\.jar"))
          .filter(p -> !p.getFileName().toString().contains("original"))
          .findFirst()
          .orElseThrow(
              () -> new IllegalStateException("no relay jar in target/: run mvn package first"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  RelayProcess start() {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx256m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-jar");
    cmd.add(jar().toAbsolutePath().toString());
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().putAll(env);
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /** Waits until the relay streams (readiness UP and state STREAMING). */
  RelayProcess awaitStreaming(Duration timeout) {
    awaitState("STREAMING", timeout);
    return this;
  }

  void awaitState(String state, Duration timeout) {
    Ports.await(
        "relay state " + state + "; log:\n" + logTail(),
        timeout,
        () -> {
          if (!process.isAlive()) {
            throw new IllegalStateException(
                "relay exited with " + process.exitValue() + "; log:\n" + logTail());
          }
          String h = health();
          return h != null && h.contains("\"state\":\"" + state + "\"");
        });
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(2))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The readiness JSON, or null when the HTTP server does not answer. */
  String health() {
    try {
      HttpResponse<String> r = get("/health/readiness");
      return r.statusCode() + " " + r.body();
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** A Prometheus metric's value (first series), or NaN. */
  double metric(String name) {
    try {
      HttpResponse<String> r = get("/prometheus");
      for (String line : r.body().split("\n")) {
        if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
          return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return Double.NaN;
    } catch (IOException e) {
      return Double.NaN;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Double.NaN;
    }
  }

  /** The relay's own meters, as Prometheus text lines (for failure messages). */
  String metrics() {
    try {
      HttpResponse<String> r = get("/prometheus");
      StringBuilder sb = new StringBuilder();
      for (String line : r.body().split("\n")) {
        if (line.startsWith("outboxkit_") && !line.contains("_bucket")) {
          sb.append(line).append('\n');
        }
      }
      return sb.toString();
    } catch (IOException e) {
      return "(no metrics: " + e + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  /** SIGKILL: no shutdown hooks, nothing drained, nothing committed. */
  void kill() {
    process.destroyForcibly();
    waitExit(Duration.ofSeconds(30));
  }

  /** SIGTERM, then waits for the exit. */
  int stop() {
    process.destroy();
    return waitExit(Duration.ofSeconds(60));
  }

  int waitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(
            "relay did not exit within " + timeout + "; log:\n" + logTail());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return process.exitValue();
  }

  boolean isAlive() {
    return process != null && process.isAlive();
  }

  Path logFile() {
    return log;
  }

  String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "";
    }
  }

  String logTail() {
    String all = log();
    return all.length() > 6000 ? all.substring(all.length() - 6000) : all;
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
