package io.outboxkit.consumer;

import static io.outboxkit.consumer.ConsumerFixture.applyEffect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.Connection;
import io.outboxkit.consumer.ConsumerFixture.TestStream;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Several instances on one durable consumer never apply a message twice. */
class ConsumerScaleIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static ConsumerFixture fx;

  static final int EVENTS = 2000;

  @BeforeAll
  static void migrate() {
    fx = new ConsumerFixture(infra);
    fx.migrate();
  }

  @AfterEach
  void closeConsumers() {
    fx.closeConsumers();
  }

  @Test
  void twoInstancesOnOneDurableApplyEveryMessageExactlyOnce() {
    // Every event is in the stream twice (republished after the duplicate window, as a relay
    // replay would), so both instances meet copies of the same ids, often at the same time.
    TestStream stream = fx.stream(Duration.ofMillis(200));
    String name = "scaled";
    List<SimpleMeterRegistry> registries = new ArrayList<>();
    for (String instance : List.of("a", "b")) {
      Connection own = infra.closeAfterClass(TestInfra.connect(infra.natsUrl()));
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      registries.add(registry);
      fx.started(
          fx.consumer(stream, name, (h, e) -> applyEffect(h, name, e, instance))
              .connection(own)
              .batchSize(20)
              .meterRegistry(registry));
    }

    List<TestRelay.Event> events = new ArrayList<>();
    for (int i = 0; i < EVENTS; i++) {
      TestRelay.Event event = TestRelay.event("m-" + (i % 37), "{\"n\":" + i + "}");
      events.add(event);
      stream.relay().publish(event);
    }
    for (TestRelay.Event event : events) {
      stream.relay().publishAgainAfterDuplicateWindow(event);
    }

    await()
        .atMost(Duration.ofMinutes(3))
        .until(() -> fx.inboxRows(name) == EVENTS && fx.settled(stream, name));

    assertThat(fx.effects(name)).isEqualTo(EVENTS);
    assertThat(fx.count("SELECT count(DISTINCT message_id) FROM effect WHERE consumer = ?", name))
        .isEqualTo(EVENTS);
    Map<String, Long> byInstance =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.select("SELECT applied_by, count(*) FROM effect GROUP BY applied_by")
                        .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
                        .list())
            .stream()
            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    assertThat(byInstance.keySet()).as("both instances got work").containsOnly("a", "b");
    double duplicates = 0;
    double applied = 0;
    for (SimpleMeterRegistry registry : registries) {
      duplicates += count(registry, "duplicate");
      applied += count(registry, "applied");
      assertThat(count(registry, "applied") + count(registry, "duplicate")).isPositive();
    }
    assertThat(applied).isEqualTo(EVENTS);
    assertThat(duplicates).isGreaterThanOrEqualTo(EVENTS); // every second copy, at least
  }

  private static double count(SimpleMeterRegistry registry, String outcome) {
    return registry.find("outboxkit.consumer.messages").tag("outcome", outcome).counter().count();
  }
}
