package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The relay's HTTP port exposes health, Prometheus metrics and the read-only status page, and
 * nothing else, unless a setting turns an endpoint on; its host and port, and the status page, are
 * ordinary settings, in a config file as well.
 */
class ManagementEndpointsIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  private static final List<String> CLOSED =
      List.of(
          "/beans",
          "/loggers",
          "/loggers/io.outboxkit",
          "/threaddump",
          "/refresh",
          "/env",
          "/env/outboxkit",
          "/routes",
          "/info",
          "/metrics",
          "/stop",
          "/caches",
          "/health/../beans");

  @BeforeAll
  static void schema() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
  }

  private static Map<String, String> env(String suffix) {
    return RelayProcess.env(
        infra.pgHost(),
        infra.pgPort(),
        infra.database(),
        infra.pgUser(),
        infra.pgPassword(),
        infra.natsUrl(),
        infra.streamName() + suffix,
        infra.prefix() + suffix.toLowerCase());
  }

  @Test
  void onlyHealthAndPrometheusAnswer() {
    try (RelayProcess relay = new RelayProcess(env("A")).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      for (String path : CLOSED) {
        for (String method : List.of("GET", "POST", "DELETE")) {
          HttpResponse<String> r = relay.request(method, path);
          assertThat(r.statusCode())
              .as(method + " " + path + " answered: " + r.body())
              .isIn(401, 404, 405);
          assertThat(r.body()).doesNotContain("outboxkit.relay").doesNotContain("java.");
        }
      }
      // Open: readiness (and /health, which includes it) is 200 once events or checkpoints flow,
      // 503 just before; either way it answers, without authentication.
      for (String path : List.of("/health", "/health/readiness")) {
        HttpResponse<String> r = relay.request("GET", path);
        assertThat(r.statusCode()).as(path).isIn(200, 503);
        assertThat(r.body()).contains("\"state\":\"STREAMING\"");
      }
      assertThat(relay.request("GET", "/health/liveness").statusCode()).isEqualTo(200);
      HttpResponse<String> prometheus = relay.request("GET", "/prometheus");
      assertThat(prometheus.statusCode()).isEqualTo(200);
      assertThat(prometheus.body()).contains("outboxkit_relay_");
      // Open and read-only: the status page and its JSON (StatusPageIT checks what they show).
      HttpResponse<String> page = relay.request("GET", "/status");
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
      assertThat(page.headers().firstValue("Content-Security-Policy").orElse(""))
          .startsWith("default-src 'none'");
      HttpResponse<String> json = relay.request("GET", "/status.json");
      assertThat(json.statusCode()).isEqualTo(200);
      assertThat(json.body()).contains("\"state\":\"STREAMING\"").contains("\"role\":\"active\"");
      for (String path : List.of("/status", "/status.json")) {
        for (String method : List.of("POST", "PUT", "DELETE")) {
          HttpResponse<String> r = relay.request(method, path);
          assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isIn(404, 405);
          assertThat(r.body()).doesNotContain("java.");
        }
      }
    }
  }

  @Test
  void anEndpointIsOnOnlyWhenASettingTurnsItOn() {
    Map<String, String> env = env("B");
    env.put("ENDPOINTS_LOGGERS_ENABLED", "true");
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      // On, but still sensitive: no authentication is configured, so it refuses.
      assertThat(relay.request("GET", "/loggers").statusCode()).isEqualTo(401);
      assertThat(relay.request("GET", "/beans").statusCode()).isIn(401, 404);
    }
    env.put("ENDPOINTS_LOGGERS_SENSITIVE", "false");
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      HttpResponse<String> r = relay.request("GET", "/loggers");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("io.outboxkit");
    }
  }

  @Test
  void httpHostPortAndStatusPageAreSettingsInAConfigFile() throws Exception {
    int port = Ports.free();
    Path yml = Files.createTempFile("relay-http", ".yml");
    try {
      Files.writeString(
          yml,
          "outboxkit:\n  relay:\n    status-page: false\n    http:\n      host: 127.0.0.1\n"
              + "      port: "
              + port
              + "\n");
      Map<String, String> env = env("C");
      env.put("MICRONAUT_CONFIG_FILES", yml.toString());
      try (RelayProcess relay = new RelayProcess(env, port, false).start()) {
        // awaitStreaming reads /health/readiness on the port the file set
        relay.awaitStreaming(Duration.ofSeconds(90));
        assertThat(relay.request("GET", "/health/liveness").statusCode()).isEqualTo(200);
        // status-page: false removes the page and its JSON
        assertThat(relay.request("GET", "/status").statusCode()).isEqualTo(404);
        assertThat(relay.request("GET", "/status.json").statusCode()).isEqualTo(404);
      }
    } finally {
      Files.deleteIfExists(yml);
    }
  }

  /**
   * The stage lags ({@link StageLag}) see every change at each stage, in pipeline order: once
   * nothing is in flight (the three counts are equal), the same changes were timed at each stage,
   * and for each of them commit → decoded ≤ commit → dequeued ≤ commit → batched, so the sums are
   * ordered too.
   */
  @Test
  void stageLagsTimeEveryChangeAtEachStageInPipelineOrder() throws Exception {
    try (RelayProcess relay = new RelayProcess(env("S")).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      stageLagsTimeEveryChangeAtEachStageInPipelineOrder(relay);
    }
  }

  private static void stageLagsTimeEveryChangeAtEachStageInPipelineOrder(RelayProcess relay)
      throws Exception {
    new OutboxLoad(infra.dataSource()).singleRows(300, 200_000);
    double[][] last = new double[1][];
    io.outboxkit.testing.Ports.await(
        "the three stages timed the same changes, at least 300; metrics:\n" + relay.metrics(),
        Duration.ofSeconds(60),
        () -> {
          double[] c = stageLags(relay.request("GET", "/prometheus").body());
          last[0] = c;
          return c[0] >= 300 && c[0] == c[1] && c[1] == c[2];
        });
    double[] c = last[0];
    assertThat(c[3]).as("sum decoded ≤ sum dequeued").isLessThanOrEqualTo(c[4]);
    assertThat(c[4]).as("sum dequeued ≤ sum batched").isLessThanOrEqualTo(c[5]);
    assertThat(c[5]).as("the stages took time").isPositive();
    assertThat(relay.metric("outboxkit_relay_lag_seconds_count")).isGreaterThanOrEqualTo(300);
  }

  /** Counts of decoded, dequeued, batched, then their sums (seconds). */
  private static double[] stageLags(String prometheus) {
    List<String> stages = List.of("decoded", "dequeued", "batched");
    double[] v = new double[6];
    java.util.Arrays.fill(v, Double.NaN);
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile(
                "(?m)^outboxkit_relay_stage_lag_seconds_(count|sum)\\{[^}]*stage=\"(\\w+)\"[^}]*\\}"
                    + " (\\S+)$")
            .matcher(prometheus);
    while (m.find()) {
      int stage = stages.indexOf(m.group(2));
      if (stage >= 0) {
        v[stage + (m.group(1).equals("sum") ? 3 : 0)] = Double.parseDouble(m.group(3));
      }
    }
    return v;
  }
}
