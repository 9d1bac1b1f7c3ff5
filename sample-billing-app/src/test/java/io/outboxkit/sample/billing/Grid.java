package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.outboxkit.testing.JarProcess;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;

/**
 * The grid for end-to-end tests: the meter service and the relay as processes from their jars (on
 * the test class's database), NATS JetStream, and the billing service in this JVM on a database of
 * its own. Close it after the class.
 */
final class Grid implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration WAIT = Duration.ofMinutes(3);

  final TestInfra infra;
  final String stream;
  final String billingDb;
  final String meterUrl;
  final String relayUrl;
  final Map<String, String> meterEnv = new HashMap<>();
  JarProcess meter;
  final JarProcess relay;
  final EmbeddedServer billing;
  private final boolean ownBillingDb;

  /**
   * The billing database's relay (onboarding saga only): billing's own outbox to {@link
   * #billingStream} on subjects {@code <prefix>b.onboarding.<type>}; null without the saga.
   */
  JarProcess billingRelay;

  final String billingStream;
  final String billingRelayUrl;

  /**
   * What differs from the default grid (everything as the superuser, the meter service on the test
   * class's database, billing on a new one).
   *
   * @param meterEnv adds to or overrides the meter service's environment
   * @param beforeRelay runs once the meter service is up (its migrations done), before the relay
   * @param relayEnv adds to or overrides the relay's environment
   * @param billingProps adds to or overrides the billing service's settings
   * @param billingDb an existing database for the billing service; null for a new one
   */
  record Setup(
      Map<String, String> meterEnv,
      Runnable beforeRelay,
      Map<String, String> relayEnv,
      Map<String, Object> billingProps,
      String billingDb) {}

  /** Starts everything; {@code billingProps} add to or override the billing service's settings. */
  Grid(TestInfra infra, Map<String, Object> billingProps) throws Exception {
    this(infra, billingProps, null);
  }

  /**
   * Starts everything; with {@code onboardingTimeout} (not null) the meter service onboards meters
   * through the saga with billing, whose answers go through a second relay on its database.
   */
  Grid(TestInfra infra, Map<String, Object> billingProps, String onboardingTimeout)
      throws Exception {
    this(infra, new Setup(Map.of(), () -> {}, Map.of(), billingProps, null), onboardingTimeout);
  }

  Grid(TestInfra infra, Setup setup) throws Exception {
    this(infra, setup, null);
  }

  private Grid(TestInfra infra, Setup setup, String onboardingTimeout) throws Exception {
    this.infra = infra;
    stream = infra.streamName();
    billingStream = stream + "_B";
    String prefix = infra.prefix();
    ownBillingDb = setup.billingDb() == null;
    billingDb =
        ownBillingDb
            ? (infra.database() + "_billing")
                .substring(0, Math.min(63, infra.database().length() + 8))
            : setup.billingDb();
    if (ownBillingDb) {
      admin("CREATE DATABASE " + billingDb);
    }

    int meterPort = Ports.free();
    meterUrl = "http://127.0.0.1:" + meterPort;
    meterEnv.put("METER_PORT", Integer.toString(meterPort));
    meterEnv.put("METER_DB_URL", infra.jdbcUrl());
    meterEnv.put("METER_DB_USER", infra.pgUser());
    meterEnv.put("METER_DB_PASSWORD", infra.pgPassword());
    if (onboardingTimeout != null) {
      meterEnv.put("METER_ONBOARDING", "saga");
      meterEnv.put("METER_ONBOARDING_TIMEOUT", onboardingTimeout);
      meterEnv.put("METER_ONBOARDING_POLL", "200ms");
      meterEnv.put("METER_NATS_URL", infra.natsUrl());
      meterEnv.put("METER_REPLY_STREAM", billingStream);
      meterEnv.put("METER_REPLY_SUBJECT", prefix + "b.onboarding.>");
      meterEnv.put("METER_DEAD_LETTER_SUBJECT", prefix + "b-dlq.meter-onboarding");
      meterEnv.put("METER_TARIFFS", "residential-tou,commercial-tou,legacy-flat");
    }
    meterEnv.putAll(setup.meterEnv());
    startMeter(Map.of());
    setup.beforeRelay().run();

    int relayPort = Ports.free();
    relayUrl = "http://127.0.0.1:" + relayPort + "/health/readiness";
    Map<String, String> env = new HashMap<>();
    env.put("OUTBOXKIT_RELAY_HTTP_PORT", Integer.toString(relayPort));
    env.put("OUTBOXKIT_RELAY_HTTP_HOST", "127.0.0.1");
    env.put("OUTBOXKIT_RELAY_DATABASE_HOST", infra.pgHost());
    env.put("OUTBOXKIT_RELAY_DATABASE_PORT", Integer.toString(infra.pgPort()));
    env.put("OUTBOXKIT_RELAY_DATABASE_NAME", infra.database());
    env.put("OUTBOXKIT_RELAY_DATABASE_USER", infra.pgUser());
    env.put("OUTBOXKIT_RELAY_DATABASE_PASSWORD", infra.pgPassword());
    env.put("OUTBOXKIT_RELAY_NATS_SERVERS", infra.natsUrl());
    env.put("OUTBOXKIT_RELAY_STREAM_NAME", stream);
    env.put("OUTBOXKIT_RELAY_STREAM_SUBJECTS", prefix + ".>," + prefix + "-dlq.>");
    // A short duplicate window, so that a test can put an event into the stream twice.
    env.put("OUTBOXKIT_RELAY_STREAM_DUPLICATE_WINDOW", "1s");
    env.put("OUTBOXKIT_RELAY_SUBJECT_TEMPLATE", prefix + ".{aggregate_type}.{event_type}");
    env.put("OUTBOXKIT_RELAY_DEAD_LETTER_SUBJECT", prefix + "-dlq.relay");
    env.put("OUTBOXKIT_RELAY_SLOT_NAME", prefix + "_slot");
    env.put("OUTBOXKIT_RELAY_PUBLICATION_NAME", prefix + "_pub");
    env.put("OUTBOXKIT_RELAY_ENGINE_RESTART_BACKOFF", "500ms");
    env.putAll(setup.relayEnv());
    relay = new JarProcess("outbox-relay", env).start();
    awaitRelayStreaming();

    Map<String, Object> props = new HashMap<>();
    props.put("datasources.default.url", billingJdbcUrl());
    props.put("datasources.default.username", infra.pgUser());
    props.put("datasources.default.password", infra.pgPassword());
    props.put("micronaut.server.port", -1);
    props.put("billing.nats-url", infra.natsUrl());
    props.put("billing.stream", stream);
    props.put("billing.billing-subject", prefix + ".meter.>");
    props.put("billing.grid-load-subject", prefix + ".meter.ReadingRecorded");
    props.put("billing.dead-letter-prefix", prefix + "-dlq.");
    props.put("billing.reconcile.meter-url", meterUrl);
    props.put("billing.onboarding.subject", prefix + ".onboarding.>");
    props.putAll(setup.billingProps());
    billing = ApplicationContext.run(EmbeddedServer.class, props);

    int billingRelayPort = Ports.free();
    billingRelayUrl = "http://127.0.0.1:" + billingRelayPort + "/health/readiness";
    if (onboardingTimeout != null) {
      // The billing service created its outbox table at start: now its relay can start.
      Map<String, String> b = new HashMap<>(env);
      b.put("OUTBOXKIT_RELAY_HTTP_PORT", Integer.toString(billingRelayPort));
      b.put("OUTBOXKIT_RELAY_DATABASE_NAME", billingDb);
      b.put("OUTBOXKIT_RELAY_STREAM_NAME", billingStream);
      b.put("OUTBOXKIT_RELAY_STREAM_SUBJECTS", prefix + "b.>," + prefix + "b-dlq.>");
      b.put("OUTBOXKIT_RELAY_SUBJECT_TEMPLATE", prefix + "b.{aggregate_type}.{event_type}");
      b.put("OUTBOXKIT_RELAY_DEAD_LETTER_SUBJECT", prefix + "b-dlq.relay");
      b.put("OUTBOXKIT_RELAY_SLOT_NAME", prefix + "_bslot");
      b.put("OUTBOXKIT_RELAY_PUBLICATION_NAME", prefix + "_bpub");
      billingRelay = new JarProcess("outbox-relay", b).start();
      awaitBillingRelayStreaming();
    }
  }

  /** (Re)starts the meter service with its settings plus {@code overrides}. */
  void startMeter(Map<String, String> overrides) {
    Map<String, String> env = new HashMap<>(meterEnv);
    env.putAll(overrides);
    meter =
        new JarProcess("sample-meter-app", env)
            .start()
            .awaitHttp(meterUrl + "/health", b -> b.contains("UP"), WAIT);
  }

  /** kill -9 of the meter service: a crash, between whatever steps it was taking. */
  void killMeter() {
    meter.kill();
    meter.close();
  }

  void awaitBillingRelayStreaming() {
    billingRelay.awaitHttp(billingRelayUrl, b -> b.contains("\"state\":\"STREAMING\""), WAIT);
  }

  /** Starts the load simulator (from the meter service's jar) against this grid's meter service. */
  JarProcess simulator(String... options) {
    String[] args = new String[options.length + 3];
    args[0] = "simulate";
    args[1] = "--url";
    args[2] = meterUrl;
    System.arraycopy(options, 0, args, 3, options.length);
    return new JarProcess("sample-meter-app", Map.of(), args).start();
  }

  String billingJdbcUrl() {
    return "jdbc:postgresql://" + infra.pgHost() + ":" + infra.pgPort() + "/" + billingDb;
  }

  /** The billing service's database, for tests that corrupt or inspect its read models. */
  Jdbi billingJdbi() {
    return Jdbi.create(billingJdbcUrl(), infra.pgUser(), infra.pgPassword());
  }

  String billingUrl() {
    return "http://127.0.0.1:" + billing.getPort();
  }

  void awaitRelayStreaming() {
    relay.awaitHttp(relayUrl, b -> b.contains("\"state\":\"STREAMING\""), WAIT);
  }

  JsonNode meterTotals() throws Exception {
    String body = JarProcess.get(meterUrl + "/totals?zone=UTC");
    assertThat(body).as("meter service /totals").isNotNull();
    return JSON.readTree(body);
  }

  JsonNode summary() throws Exception {
    String body = JarProcess.get(billingUrl() + "/summary");
    assertThat(body).as("billing service /summary").isNotNull();
    return JSON.readTree(body);
  }

  JsonNode getBilling(String path) throws Exception {
    String body = JarProcess.get(billingUrl() + path);
    assertThat(body).as("billing service " + path).isNotNull();
    return JSON.readTree(body);
  }

  JsonNode postBilling(String path) throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(billingUrl() + path))
                    .timeout(WAIT)
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("POST " + path + ": " + r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  /** Waits until both read models equal the meter service's totals and the consumers are idle. */
  void awaitReadModelsEqualTheMeterTotals() {
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              JsonNode truth = meterTotals();
              JsonNode models = summary();
              assertThat(ConvergenceReport.readModelDifferences(truth, models)).isEmpty();
              assertThat(ConvergenceReport.consumerDifferences(models)).isEmpty();
            });
  }

  private void admin(String sql) throws Exception {
    try (Connection c =
            DriverManager.getConnection(
                "jdbc:postgresql://" + infra.pgHost() + ":" + infra.pgPort() + "/postgres",
                infra.pgUser(),
                infra.pgPassword());
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  @Override
  public void close() throws Exception {
    if (billing != null) {
      billing.close();
    }
    if (billingRelay != null) {
      billingRelay.close();
    }
    relay.close();
    meter.close();
    if (billingRelay != null) {
      // Its slot keeps the billing database alive: drop it once the relay's walsender is gone.
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (true) {
        try {
          admin(
              "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                  + " WHERE database = '"
                  + billingDb
                  + "'");
          break;
        } catch (java.sql.SQLException e) {
          if (System.nanoTime() > deadline) {
            throw e;
          }
          admin(
              "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
                  + " WHERE database = '"
                  + billingDb
                  + "' AND active_pid IS NOT NULL");
          Thread.sleep(200); // the walsender ends on its own in a moment
        }
      }
    }
    if (ownBillingDb) {
      admin("DROP DATABASE IF EXISTS " + billingDb + " WITH (FORCE)");
    }
  }
}
