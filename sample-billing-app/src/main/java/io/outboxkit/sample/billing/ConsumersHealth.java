package io.outboxkit.sample.billing;

import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.AbstractHealthIndicator;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code /health} is DOWN until both consumers run (NATS reachable and the relay's stream there),
 * and while either has stopped; disabled consumers do not count, nor a consumer paused for the
 * handover of a rebuild.
 */
@Singleton
final class ConsumersHealth extends AbstractHealthIndicator<Map<String, Object>> {
  private final Consumers consumers;
  private final BillingSettings settings;

  ConsumersHealth(Consumers consumers, BillingSettings settings) {
    this.consumers = consumers;
    this.settings = settings;
  }

  @Override
  protected Map<String, Object> getHealthInformation() {
    Map<String, Object> details = new LinkedHashMap<>();
    boolean up = true;
    for (String name : consumers.names()) {
      boolean running = consumers.isRunning(name) || consumers.isPaused(name);
      details.put(
          name,
          consumers.isPaused(name)
              ? "paused for a rebuild"
              : running ? "running" : settings.consumersEnabled() ? "not running" : "disabled");
      up &= running || !settings.consumersEnabled();
    }
    healthStatus = up ? HealthStatus.UP : HealthStatus.DOWN;
    return details;
  }

  @Override
  protected String getName() {
    return "consumers";
  }
}
