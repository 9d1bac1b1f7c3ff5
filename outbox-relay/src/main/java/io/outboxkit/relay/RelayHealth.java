package io.outboxkit.relay;

import io.micronaut.context.annotation.Requires;
import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.endpoint.health.HealthEndpoint;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Liveness;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reactivestreams.Publisher;

/**
 * {@code /health/readiness}: UP once a checkpoint has gone through a started engine (events flow
 * and offsets are stored) with NATS connected, or when waiting as a standby; DOWN while connecting,
 * while the engine fails and restarts ({@code consecutiveFailures}, {@code lastError}), or after a
 * fatal error or fencing (role {@code fenced}). {@code /health/liveness}: DOWN only after a fatal
 * error or fencing. Both carry the replication, NATS and stream details.
 */
final class RelayHealth {
  private RelayHealth() {}

  static Map<String, Object> details(RelaySupervisor s) {
    Map<String, Object> d = new LinkedHashMap<>();
    RelaySupervisor.State state = s.state();
    d.put("state", state.name());
    d.put(
        "role",
        switch (state) {
          case STANDBY -> "standby";
          case FENCED -> "fenced";
          default -> "active";
        });
    d.put("epoch", s.epoch());
    d.put(
        "replication",
        Map.of(
            "slot", s.settings().slot(),
            "database", s.settings().dbName(),
            "streaming", state == RelaySupervisor.State.STREAMING));
    d.put("nats", Map.of("connection", s.publisher().status()));
    d.put("stream", s.settings().stream().name());
    d.put("consecutiveFailures", s.consecutiveFailures());
    if (s.lastError() != null) {
      d.put("lastError", s.lastError());
    }
    return d;
  }

  @Singleton
  @Readiness
  @Requires(beans = HealthEndpoint.class)
  static final class Ready implements HealthIndicator {
    private final RelaySupervisor supervisor;

    Ready(RelaySupervisor supervisor) {
      this.supervisor = supervisor;
    }

    @Override
    public Publisher<HealthResult> getResult() {
      RelaySupervisor.State state = supervisor.state();
      boolean up =
          state == RelaySupervisor.State.STANDBY
              || (supervisor.isFlowing() && supervisor.publisher().isConnected());
      return Publishers.just(
          HealthResult.builder("outboxkit-relay", up ? HealthStatus.UP : HealthStatus.DOWN)
              .details(details(supervisor))
              .build());
    }
  }

  @Singleton
  @Liveness
  @Requires(beans = HealthEndpoint.class)
  static final class Live implements HealthIndicator {
    private final RelaySupervisor supervisor;

    Live(RelaySupervisor supervisor) {
      this.supervisor = supervisor;
    }

    @Override
    public Publisher<HealthResult> getResult() {
      RelaySupervisor.State state = supervisor.state();
      boolean up = state != RelaySupervisor.State.FAILED && state != RelaySupervisor.State.FENCED;
      return Publishers.just(
          HealthResult.builder("outboxkit-relay-process", up ? HealthStatus.UP : HealthStatus.DOWN)
              .details(Map.of("state", supervisor.state().name()))
              .build());
    }
  }
}
