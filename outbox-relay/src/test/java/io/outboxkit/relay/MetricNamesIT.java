package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.outboxkit.consumer.OutboxConsumer;
import io.outboxkit.testing.TestInfra;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every outboxkit metric the alert rules and the dashboard query is one the relay and the consumer
 * really export, under the name Prometheus sees: their meters registered on Micrometer's Prometheus
 * registry (as in the relay) and scraped.
 */
class MetricNamesIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  private static final Pattern NAME = Pattern.compile("\\boutboxkit_[a-z0-9_]+");

  @Test
  void everyOutboxkitMetricQueriedIsExported() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    RelayMetrics relay = new RelayMetrics(registry);
    relay.acked(System.currentTimeMillis() * 1000 - 5_000, false);
    relay.publishError("timeout");
    relay.deadLetter("payload_too_large");
    relay.batch(10);
    relay.consecutiveFailures(new AtomicInteger()); // registered by RelaySupervisor at start
    OutboxConsumer consumer =
        OutboxConsumer.builder().name("names").connection(infra.nats()).jdbi(infra.jdbi()).stream(
                infra.streamName())
            .handler((handle, event) -> {})
            .meterRegistry(registry)
            .build();
    Set<String> exported = new TreeSet<>();
    for (String line : registry.scrape().split("\n")) {
      if (!line.startsWith("#") && !line.isBlank()) {
        exported.add(line.split("[{ ]", 2)[0]);
      }
    }
    consumer.close();

    Set<String> queried = new TreeSet<>();
    AlertRulesTest.alertExpressions().forEach(e -> names(e, queried));
    AlertRulesTest.dashboardQueries().values().forEach(e -> names(e, queried));

    assertThat(queried).hasSizeGreaterThan(15);
    assertThat(exported).as("metrics exported by the relay and the consumer").containsAll(queried);
  }

  private static void names(String expr, Set<String> into) {
    Matcher m = NAME.matcher(expr);
    while (m.find()) {
      into.add(m.group());
    }
  }
}
