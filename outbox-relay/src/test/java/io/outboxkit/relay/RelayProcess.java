package io.outboxkit.relay;

import io.nats.client.Connection;
import io.outboxkit.testing.JarProcess;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The relay as a real separate process ({@code java -jar target/outbox-relay-*.jar}), configured by
 * environment variables, so that tests can SIGKILL or SIGTERM it.
 */
final class RelayProcess implements AutoCloseable {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final int port;
  private final JarProcess jar;

  RelayProcess(Map<String, String> env) {
    this(env, Ports.free(), true);
  }

  /**
   * @param port the HTTP port the relay will listen on
   * @param setPort false when {@code env} (or a config file it names) sets the port itself
   */
  RelayProcess(Map<String, String> env, int port, boolean setPort) {
    Map<String, String> all = new LinkedHashMap<>(env);
    this.port = port;
    if (setPort) {
      all.put("OUTBOXKIT_RELAY_HTTP_PORT", Integer.toString(port));
      all.put("OUTBOXKIT_RELAY_HTTP_HOST", "127.0.0.1");
    }
    this.jar = new JarProcess("outbox-relay", all);
  }

  /** Settings for a relay of the class's own database, the given NATS and stream. */
  static Map<String, String> env(TestInfra infra, String natsUrl, String stream) {
    return env(infra, natsUrl, stream, infra.prefix());
  }

  /** Settings for a relay of the class's own database, with its names under {@code prefix}. */
  static Map<String, String> env(TestInfra infra, String natsUrl, String stream, String prefix) {
    return env(
        infra.pgHost(),
        infra.pgPort(),
        infra.database(),
        infra.pgUser(),
        infra.pgPassword(),
        natsUrl,
        stream,
        prefix);
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

  /** The HTTP port. */
  int port() {
    return port;
  }

  RelayProcess start() {
    jar.start();
    return this;
  }

  /** Waits until the relay streams (readiness UP and state STREAMING). */
  RelayProcess awaitStreaming(Duration timeout) {
    Ports.await(
        "relay state STREAMING with readiness UP; log:\n" + logTail(),
        timeout,
        () -> {
          jar.checkAlive();
          String h = health();
          return h != null && h.startsWith("200") && h.contains("\"state\":\"STREAMING\"");
        });
    return this;
  }

  void awaitState(String state, Duration timeout) {
    Ports.await(
        "relay state " + state + "; log:\n" + logTail(),
        timeout,
        () -> {
          jar.checkAlive();
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

  /** The HTTP status and body of {@code method path} (GET, POST, DELETE with an empty body). */
  HttpResponse<String> request(String method, String path) {
    try {
      return HTTP.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
              .timeout(Duration.ofSeconds(5))
              .header("Content-Type", "application/json")
              .method(method, HttpRequest.BodyPublishers.ofString(method.equals("GET") ? "" : "{}"))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
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

  /**
   * Starts the relay {@code rounds} times and SIGKILLs it each time while it publishes: once it has
   * stored {@code atLeast} to {@code atLeast + spread} more events (a random count) in {@code
   * stream}. The last relay is dead when this returns.
   */
  static void killWhilePublishing(
      Map<String, String> env, Connection nc, String stream, int rounds, int atLeast, int spread) {
    for (int round = 0; round < rounds; round++) {
      try (RelayProcess relay = new RelayProcess(env).start()) {
        relay.awaitStreaming(Duration.ofSeconds(90));
        long before = Math.max(StreamContents.count(nc, stream), 0);
        long more = atLeast + ThreadLocalRandom.current().nextInt(spread);
        Ports.await(
            "the relay to publish " + more + " more events",
            Duration.ofSeconds(90),
            () -> StreamContents.count(nc, stream) >= before + more);
        relay.kill();
      }
    }
  }

  /** {@code kill -<name>}: {@code STOP} freezes the relay (its kernel still answers TCP). */
  void signal(String name) {
    jar.signal(name);
  }

  /** SIGKILL: no shutdown hooks, nothing drained, nothing committed. */
  void kill() {
    jar.kill();
  }

  /** SIGTERM, then waits for the exit. */
  int stop() {
    return jar.terminate(Duration.ofSeconds(60));
  }

  int waitExit(Duration timeout) {
    return jar.awaitExit(timeout);
  }

  boolean isAlive() {
    return jar.isAlive();
  }

  String log() {
    return jar.log();
  }

  String logTail() {
    return jar.logTail();
  }

  /**
   * SIGKILL (a relay test never needs a drain at cleanup), then the log file is deleted. The run
   * that records the jar's class-data archive gets 10 s to stop by SIGTERM first (see {@link
   * JarProcess}).
   */
  @Override
  public void close() {
    if (jar.isAlive() && jar.recordsClassData()) {
      try {
        jar.terminate(Duration.ofSeconds(10));
      } catch (IllegalStateException e) {
        // still draining: killed below, without an archive
      }
    }
    if (jar.isAlive()) {
      jar.kill();
    }
    jar.close();
  }
}
