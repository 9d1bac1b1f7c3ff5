package io.outboxkit.relay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9 item 5: while the engine fails again and again (no bad row: a thread keeps terminating
 * the relay's walsender as soon as it holds the slot), {@code /health/readiness} stays DOWN (503)
 * with {@code lastError} and {@code consecutiveFailures} > 0, and the gauge {@code
 * outboxkit_relay_engine_consecutive_failures} is above 0. Once the walsender is left alone and
 * events flow again, readiness is UP with {@code consecutiveFailures} back to 0.
 *
 * <p>The relay's heartbeat interval is 10 s here, so that no heartbeat can flow in the few
 * milliseconds a walsender lives: every UP seen while the terminator runs is a relay claiming
 * health without events or heartbeats flowing.
 */
class ReadinessIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String GAUGE = "outboxkit_relay_engine_consecutive_failures";

  @Test
  void downWhileTheEngineFailsRepeatedlyAndUpOnlyWhenEventsFlowAgain() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    String stream = infra.streamName() + "_RD";
    String prefix = infra.prefix();
    String slot = prefix + "_slot";
    Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream);
    env.put("OUTBOXKIT_RELAY_ENGINE_HEARTBEAT_INTERVAL", "10s");
    Connection nc = infra.nats();
    List<String> problems = new ArrayList<>();

    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      String first = Sentinel.write(infra.dataSource());
      Sentinel.await(nc, stream, prefix, first, Duration.ofSeconds(60));
      Ports.await("readiness UP while streaming", Duration.ofSeconds(30), () -> isUp(relay));

      AtomicBoolean terminating = new AtomicBoolean(true);
      AtomicInteger terminated = new AtomicInteger();
      Thread terminator =
          new Thread(() -> terminateWalsenders(slot, terminating, terminated), "terminator");
      terminator.setDaemon(true);
      terminator.start();
      try {
        Ports.await(
            "readiness DOWN after the walsender was terminated; log:\n" + relay.logTail(),
            Duration.ofSeconds(90),
            () -> !isUp(relay));
        // While the terminator runs: never UP; the failures counted in health and metrics.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        int samples = 0;
        int maxFailures = 0;
        double maxGauge = Double.NaN;
        String lastError = null;
        String firstUp = null;
        long nextGauge = 0;
        while (System.nanoTime() < until || terminated.get() < 4) {
          // Each cycle (kill, failure noticed, engine stopped, backoff, restart) takes 2-5 s on a
          // quiet machine (10-15 s before Debezium's stream-start retries were shortened) and
          // several times that on a loaded one: wait for 4, up to 3 minutes.
          if (System.nanoTime() > until + TimeUnit.SECONDS.toNanos(160)) {
            break; // reported below: the engine was not restarted often enough
          }
          String h = relay.health();
          samples++;
          if (h != null) {
            if (h.startsWith("200") && firstUp == null) {
              firstUp = "after " + terminated.get() + " terminations: " + h;
            }
            JsonNode body = body(h);
            JsonNode f = body == null ? null : body.findValue("consecutiveFailures");
            if (f != null) {
              maxFailures = Math.max(maxFailures, f.asInt());
            }
            JsonNode e = body == null ? null : body.findValue("lastError");
            if (e != null && !e.isNull()) {
              lastError = e.asText();
            }
          }
          if (System.nanoTime() > nextGauge) {
            double g = relay.metric(GAUGE);
            maxGauge = Double.isNaN(maxGauge) ? g : Math.max(maxGauge, g);
            nextGauge = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
          }
          Thread.sleep(25); // sampling rate of the probe, not a wait for a condition
        }
        System.out.printf(
            "ReadinessIT: %d walsenders terminated, %d readiness samples, max consecutiveFailures"
                + " %d, max %s %s, lastError %s%n",
            terminated.get(), samples, maxFailures, GAUGE, maxGauge, lastError);
        if (terminated.get() < 4) {
          problems.add(
              "the engine was restarted only "
                  + terminated.get()
                  + " times in 180 s (expected ≥ 4)");
        }
        if (firstUp != null) {
          problems.add("readiness was UP while the engine kept failing, " + firstUp);
        }
        if (maxFailures < 2) {
          problems.add(
              "readiness details never showed consecutiveFailures ≥ 2 (max " + maxFailures + ")");
        }
        if (lastError == null || lastError.isBlank()) {
          problems.add("readiness details never showed a lastError");
        }
        if (!(maxGauge > 0)) {
          problems.add("metric " + GAUGE + " never above 0 (max " + maxGauge + ")");
        }
      } finally {
        terminating.set(false);
        terminator.join(10_000);
      }

      // Left alone: the relay streams again; UP once an event flowed, failures back to 0.
      String after = Sentinel.write(infra.dataSource());
      Sentinel.await(nc, stream, prefix, after, Duration.ofSeconds(90));
      try {
        Ports.await(
            "readiness UP after events flow again", Duration.ofSeconds(60), () -> isUp(relay));
        JsonNode body = body(relay.health());
        JsonNode f = body == null ? null : body.findValue("consecutiveFailures");
        if (f == null || f.asInt() != 0) {
          problems.add("after recovery consecutiveFailures is " + f + ", not 0");
        }
        double g = relay.metric(GAUGE);
        if (g != 0) {
          problems.add("after recovery " + GAUGE + " is " + g + ", not 0");
        }
      } catch (IllegalStateException e) {
        problems.add(e.getMessage() + ": " + relay.health());
      }
      try {
        Delivery.assertExactlyOnce(
            nc, stream, List.of(first, after), java.util.Set.of(), Duration.ofSeconds(30));
      } catch (AssertionError | RuntimeException e) {
        problems.add("the stream after the engine restarts: " + e.getMessage());
      }
      if (!problems.isEmpty()) {
        throw new AssertionError(
            String.join("\n", problems)
                + "\nreadiness now: "
                + relay.health()
                + "\nmetrics:\n"
                + relay.metrics()
                + "\nrelay log:\n"
                + relay.logTail());
      }
    }
  }

  private static boolean isUp(RelayProcess relay) {
    String h = relay.health();
    return h != null && h.startsWith("200");
  }

  /** The JSON of a {@link RelayProcess#health()} answer ("status body"), or null. */
  private static JsonNode body(String health) {
    if (health == null || health.indexOf(' ') < 0) {
      return null;
    }
    try {
      return JSON.readTree(health.substring(health.indexOf(' ') + 1));
    } catch (Exception e) {
      return null;
    }
  }

  /** Terminates the walsender holding {@code slot} as soon as it appears, until told to stop. */
  private static void terminateWalsenders(
      String slot, AtomicBoolean terminating, AtomicInteger terminated) {
    try (java.sql.Connection c = infra.dataSource().getConnection();
        java.sql.PreparedStatement ps =
            c.prepareStatement(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
                    + " WHERE slot_name = ? AND active_pid IS NOT NULL")) {
      ps.setString(1, slot);
      while (terminating.get()) {
        try (java.sql.ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            if (rs.getBoolean(1)) {
              terminated.incrementAndGet();
            }
          }
        }
        Thread.sleep(10); // polling rate of the fault injector
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("terminating walsenders of " + slot + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
