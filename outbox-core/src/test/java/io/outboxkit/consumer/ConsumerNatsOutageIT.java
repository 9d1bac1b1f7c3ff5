package io.outboxkit.consumer;

import static io.outboxkit.consumer.ConsumerFixture.applyEffect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.outboxkit.testing.NatsProcess;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9: a consumer on a connection with jnats' default settings (60 reconnects, 2 s apart, so
 * the connection closes itself after about two minutes of outage) keeps working across a NATS
 * outage of three minutes: events published before and after it are all applied exactly once.
 */
class ConsumerNatsOutageIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static ConsumerFixture fx;

  static final Duration OUTAGE = Duration.ofMinutes(3);

  @BeforeAll
  static void migrate() {
    fx = new ConsumerFixture(infra);
    fx.migrate();
  }

  @Test
  void aConsumerOnADefaultConnectionOutlivesAThreeMinuteOutage() throws Exception {
    NatsProcess broker = infra.privateNats(); // file storage: the stream survives the restart
    Connection admin = infra.closeAfterClass(TestInfra.connect(broker.url())); // reconnects forever
    String stream = infra.streamName() + "_OUTAGE";
    String base = infra.prefix() + "_outage";
    JetStreamManagement jsm = admin.jetStreamManagement();
    jsm.addStream(
        StreamConfiguration.builder()
            .name(stream)
            .subjects(base + ".>", base + "-dlq.>")
            .storageType(StorageType.File)
            .build());
    TestRelay relay = new TestRelay(admin, base);

    // The caller's connection as most applications open it: jnats' defaults.
    Connection callers = Nats.connect(new Options.Builder().server(broker.url()).build());
    infra.closeAfterClass(callers);
    assertThat(callers.getOptions().getMaxReconnect()).isEqualTo(60);
    String name = "outage";
    AtomicInteger calls = new AtomicInteger();
    OutboxConsumer consumer =
        OutboxConsumer.builder().name(name).connection(callers).jdbi(infra.jdbi()).stream(stream)
            .deadLetterSubject(base + "-dlq." + name)
            .backoff(Duration.ofMillis(100), Duration.ofSeconds(2))
            .ackWait(Duration.ofSeconds(5))
            .handler(
                (h, e) -> {
                  calls.incrementAndGet();
                  applyEffect(h, name, e, "outage");
                })
            .build();
    infra.closeAfterClass(consumer);
    consumer.start();

    for (int i = 0; i < 40; i++) {
      relay.publish(TestRelay.event("before-" + i, "{}"));
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> fx.effects(name) == 40);

    // More events, then NATS goes down at once: some of them are in flight or unacknowledged.
    for (int i = 0; i < 40; i++) {
      relay.publish(TestRelay.event("at-stop-" + i, "{}"));
    }
    long down = System.nanoTime();
    broker.stop();

    // jnats gives up on the caller's connection (its 60 reconnects, ~2 minutes) ...
    await()
        .atMost(OUTAGE.plusSeconds(30))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> callers.getStatus() == Connection.Status.CLOSED);
    // ... and NATS stays down for three minutes in all; the consumer must not stop meanwhile.
    await()
        .atMost(OUTAGE.plusSeconds(30))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> System.nanoTime() - down >= OUTAGE.toNanos());
    assertThat(consumer.isRunning()).as("consumer running after the outage").isTrue();

    broker.start();
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> admin.getStatus() == Connection.Status.CONNECTED);
    for (int i = 0; i < 40; i++) {
      relay.publish(TestRelay.event("after-" + i, "{}"));
    }

    await()
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> fx.effects(name) >= 120 && settled(jsm, stream, name));
    assertThat(consumer.isRunning()).isTrue();
    assertThat(fx.effects(name)).isEqualTo(120);
    assertThat(fx.count("SELECT count(DISTINCT message_id) FROM effect WHERE consumer = ?", name))
        .isEqualTo(120);
    assertThat(fx.inboxRows(name)).isEqualTo(120);
    for (String phase : new String[] {"before-", "at-stop-", "after-"}) {
      assertThat(
              fx.count(
                  "SELECT count(DISTINCT aggregate_id) FROM effect WHERE consumer = ? AND"
                      + " aggregate_id LIKE ?",
                  name,
                  phase + "%"))
          .as(phase)
          .isEqualTo(40);
    }
    assertThat(calls.get()).as("handler calls (a rolled-back call would repeat)").isEqualTo(120);

    consumer.close();
    assertThat(consumer.isRunning()).isFalse();
  }

  private static boolean settled(JetStreamManagement jsm, String stream, String consumer) {
    try {
      ConsumerInfo info = jsm.getConsumerInfo(stream, consumer);
      return info.getNumPending() == 0 && info.getNumAckPending() == 0;
    } catch (Exception e) {
      return false; // the server is still coming back
    }
  }
}
