package io.outboxkit.consumer;

import static io.outboxkit.consumer.ConsumerFixture.applyEffect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.impl.Headers;
import io.outboxkit.HeaderValues;
import io.outboxkit.OutboxException;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.TableName;
import io.outboxkit.consumer.ConsumerFixture.TestStream;
import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class OutboxConsumerIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static ConsumerFixture fx;

  static final Duration WAIT = Duration.ofSeconds(60);

  record Reading(String meterId, double kwh) {}

  @BeforeAll
  static void migrate() {
    fx = new ConsumerFixture(infra);
    fx.migrate();
  }

  @AfterEach
  void closeConsumers() {
    fx.closeConsumers();
  }

  static double counter(SimpleMeterRegistry registry, String consumer, String outcome) {
    var c =
        registry
            .find("outboxkit.consumer.messages")
            .tag("consumer", consumer)
            .tag("outcome", outcome)
            .counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void theSameMessageDeliveredTwiceIsAppliedOnce() {
    TestStream stream = fx.stream(Duration.ofMillis(100));
    TestRelay.Event event = TestRelay.event("m-1", "{\"meterId\":\"m-1\",\"kwh\":1.25}");
    stream.relay().publish(event);
    stream.relay().publishAgainAfterDuplicateWindow(event); // a second stream message, same id
    AtomicInteger calls = new AtomicInteger();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();

    fx.started(
        fx.consumer(
                stream,
                "dup",
                (h, e) -> {
                  calls.incrementAndGet();
                  applyEffect(h, "dup", e, "dup");
                })
            .meterRegistry(registry));

    await()
        .atMost(WAIT)
        .until(
            () ->
                counter(registry, "dup", "applied") + counter(registry, "dup", "duplicate") == 2
                    && fx.settled(stream, "dup"));
    assertThat(fx.info(stream, "dup").getDelivered().getStreamSequence()).isEqualTo(2);
    assertThat(calls).hasValue(1);
    assertThat(fx.effects("dup")).isEqualTo(1);
    assertThat(fx.inboxRows("dup")).isEqualTo(1);
    assertThat(counter(registry, "dup", "applied")).isEqualTo(1);
    assertThat(counter(registry, "dup", "duplicate")).isEqualTo(1);
  }

  @Test
  void aHandlerThatFailsTwiceThenSucceedsAppliesOnceAfterBackoff() {
    TestStream stream = fx.stream();
    List<Long> deliveries = new CopyOnWriteArrayList<>();
    List<Long> times = new CopyOnWriteArrayList<>();
    List<Reading> readings = new CopyOnWriteArrayList<>();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    fx.started(
        fx.consumer(
                stream,
                "flaky",
                (h, e) -> {
                  deliveries.add(e.metadata().deliveries());
                  times.add(System.nanoTime());
                  applyEffect(h, "flaky", e, "flaky"); // rolled back when we throw below
                  if (e.metadata().deliveries() < 3) {
                    throw new IllegalStateException("billing service not ready");
                  }
                  readings.add(e.payloadAs(Reading.class));
                })
            .backoff(Duration.ofMillis(300), Duration.ofSeconds(5))
            .meterRegistry(registry));

    stream.relay().publish(TestRelay.event("m-7", "{\"meterId\":\"m-7\",\"kwh\":2.5}"));

    await()
        .atMost(WAIT)
        .until(() -> counter(registry, "flaky", "applied") >= 1 && fx.settled(stream, "flaky"));
    assertThat(deliveries).containsExactly(1L, 2L, 3L);
    assertThat(readings).containsExactly(new Reading("m-7", 2.5));
    assertThat(fx.effects("flaky")).isEqualTo(1);
    assertThat(fx.inboxRows("flaky")).isEqualTo(1);
    // nakWithDelay(backoff): 300 ms after the first failure, 600 ms after the second (lower bounds)
    assertThat(Duration.ofNanos(times.get(1) - times.get(0))).isGreaterThan(Duration.ofMillis(250));
    assertThat(Duration.ofNanos(times.get(2) - times.get(1))).isGreaterThan(Duration.ofMillis(550));
    assertThat(counter(registry, "flaky", "failed")).isEqualTo(2);
    assertThat(counter(registry, "flaky", "applied")).isEqualTo(1);
    assertThat(registry.find("outboxkit.consumer.handle").timer().count()).isEqualTo(3);
    assertThat(registry.find("outboxkit.consumer.lag").timer().count()).isEqualTo(1);
    assertThat(registry.find("outboxkit.consumer.last.applied.commit.time").gauge().value())
        .isGreaterThan(0);
  }

  @Test
  void aPoisonMessageIsDeadLetteredWithItsReasonWhileLaterMessagesAreApplied() {
    TestStream stream = fx.stream();
    Set<String> seenDeadLetterCopies = ConcurrentHashMap.newKeySet();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    fx.started(
        fx.consumer(
                stream,
                "poison",
                (h, e) -> {
                  if (e.headers().containsKey(OutboxHeaders.DEAD_LETTERED_BY)) {
                    seenDeadLetterCopies.add(e.id());
                  }
                  applyEffect(h, "poison", e, "poison");
                  if (e.aggregateId().equals("m-bad")) {
                    throw new IllegalArgumentException("reading is negative:\n-5 kWh, ünit?");
                  }
                })
            .maxDeliveries(3)
            .meterRegistry(registry));

    TestRelay.Event poison =
        TestRelay.event("m-bad", "{\"meterId\":\"m-bad\",\"kwh\":-5}")
            .withHeader("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    stream.relay().publish(poison);
    for (int i = 0; i < 20; i++) {
      stream.relay().publish(TestRelay.event("m-" + i, "{\"kwh\":" + i + "}"));
    }

    String dlq = stream.deadLetterSubject("poison");
    await()
        .atMost(WAIT)
        .until(
            () ->
                counter(registry, "poison", "applied") >= 20
                    && fx.lastMessage(stream, dlq) != null
                    && counter(registry, "poison", "skipped") == 1
                    && fx.settled(stream, "poison"));

    assertThat(fx.effects("poison")).isEqualTo(20);
    MessageInfo dead = fx.lastMessage(stream, dlq);
    Headers h = dead.getHeaders();
    assertThat(new String(dead.getData(), StandardCharsets.UTF_8))
        .isEqualTo("{\"meterId\":\"m-bad\",\"kwh\":-5}");
    // The reason travels encoded (RFC 8187 form): the original text, line break and umlaut intact.
    assertThat(h.getFirst(OutboxHeaders.ERROR)).startsWith(HeaderValues.MARKER);
    assertThat(HeaderValues.decode(h.getFirst(OutboxHeaders.ERROR)))
        .isEqualTo("IllegalArgumentException: reading is negative:\n-5 kWh, ünit?");
    assertThat(h.getFirst(OutboxHeaders.ERROR_KIND))
        .isEqualTo(IllegalArgumentException.class.getName());
    assertThat(h.getFirst(OutboxHeaders.ORIGINAL_SUBJECT))
        .isEqualTo(stream.relay().subject(poison));
    assertThat(h.getFirst(OutboxHeaders.DEAD_LETTERED_BY)).isEqualTo("poison");
    assertThat(h.getFirst(OutboxHeaders.DELIVERIES)).isEqualTo("3");
    assertThat(h.getFirst(OutboxHeaders.MSG_ID)).isEqualTo("dlq-poison-" + poison.id());
    assertThat(h.getFirst("traceparent")).isEqualTo(poison.headers().get("traceparent"));
    assertThat(h.getFirst(OutboxHeaders.AGGREGATE_ID)).isEqualTo("m-bad");
    // rolled back three times; never applied, never recorded
    assertThat(
            fx.count(
                "SELECT count(*) FROM effect WHERE consumer = 'poison' AND aggregate_id = 'm-bad'"))
        .isZero();
    assertThat(fx.inboxRows("poison")).isEqualTo(20);
    assertThat(counter(registry, "poison", "failed")).isEqualTo(2);
    assertThat(counter(registry, "poison", "dead_lettered")).isEqualTo(1);
    // the dead-letter copy sits in the consumed stream: acked and skipped, never handled
    assertThat(seenDeadLetterCopies).isEmpty();
  }

  @Test
  void messagesAtHandShareATransactionAndAPoisonOneAmongThemHoldsNoneBack() {
    TestStream stream = fx.stream();
    // Published before the consumer starts: the first pull brings them together.
    for (int i = 0; i < 300; i++) {
      String id = i == 150 ? "m-bad" : "m-" + i;
      stream.relay().publish(TestRelay.event(id, "{\"kwh\":" + i + "}"));
    }
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    fx.started(
        fx.consumer(
                stream,
                "batched",
                (h, e) -> {
                  applyEffect(h, "batched", e, "batched");
                  if (e.aggregateId().equals("m-bad")) {
                    throw new IllegalStateException("poison");
                  }
                })
            .maxDeliveries(2)
            .backoff(Duration.ofMillis(100), Duration.ofMillis(200))
            .meterRegistry(registry));

    await()
        .atMost(WAIT)
        .until(
            () ->
                counter(registry, "batched", "applied") >= 299
                    && counter(registry, "batched", "dead_lettered") == 1
                    && fx.settled(stream, "batched"));

    assertThat(fx.effects("batched")).isEqualTo(299);
    assertThat(fx.inboxRows("batched")).isEqualTo(299);
    assertThat(
            fx.count(
                "SELECT count(*) FROM effect WHERE consumer = 'batched' AND aggregate_id = 'm-bad'"))
        .isZero();
    long transactions =
        registry.find("outboxkit.consumer.handle").tag("consumer", "batched").timer().count();
    assertThat(transactions)
        .as("database transactions for 300 messages fetched together")
        .isLessThan(150);
  }

  @Test
  void aMessageWithoutMsgIdIsDeadLetteredAtOnceWithThatReason() {
    TestStream stream = fx.stream();
    AtomicInteger calls = new AtomicInteger();
    fx.started(
        fx.consumer(
            stream,
            "noid",
            (h, e) -> {
              calls.incrementAndGet();
              applyEffect(h, "noid", e, "noid");
            }));

    TestRelay.Event anonymous = TestRelay.event("m-1", "{\"kwh\":1}");
    stream.relay().publishWithoutId(anonymous);
    stream.relay().publish(TestRelay.event("m-2", "{\"kwh\":2}"));

    String dlq = stream.deadLetterSubject("noid");
    await()
        .atMost(WAIT)
        .until(
            () ->
                calls.get() >= 1
                    && fx.lastMessage(stream, dlq) != null
                    && fx.settled(stream, "noid"));
    assertThat(fx.effects("noid")).isEqualTo(1);
    Headers h = fx.lastMessage(stream, dlq).getHeaders();
    assertThat(h.getFirst(OutboxHeaders.ERROR_KIND)).isEqualTo("missing-message-id");
    assertThat(h.getFirst(OutboxHeaders.ERROR))
        .contains("no Nats-Msg-Id", "cannot be deduplicated");
    assertThat(h.getFirst(OutboxHeaders.DELIVERIES)).isEqualTo("1");
    assertThat(h.getFirst(OutboxHeaders.MSG_ID)).isEqualTo("dlq-noid-" + stream.name() + "-1");
    assertThat(calls).hasValue(1);
    assertThat(
            fx.count(
                "SELECT count(*) FROM effect WHERE consumer = 'noid' AND aggregate_id = 'm-1'"))
        .isZero();
  }

  @Test
  void aFailedDeadLetterPublishKeepsTheMessageUntilAStreamCapturesTheSubject() throws Exception {
    TestStream stream = fx.stream();
    String nowhere = stream.subjectBase() + "-parked.poison";
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    fx.started(
        fx.consumer(
                stream,
                "parked",
                (h, e) -> {
                  throw new IllegalStateException("always fails");
                })
            .deadLetterSubject(nowhere)
            .maxDeliveries(1)
            .meterRegistry(registry));

    stream.relay().publish(TestRelay.event("m-1", "{}"));

    // No stream captures the subject: the message is retried, never terminated.
    await().atMost(WAIT).until(() -> counter(registry, "parked", "failed") >= 3);
    assertThat(counter(registry, "parked", "dead_lettered")).isZero();
    assertThat(fx.info(stream, "parked").getNumAckPending()).isEqualTo(1);

    var jsm = infra.nats().jetStreamManagement();
    StreamConfiguration config = jsm.getStreamInfo(stream.name()).getConfiguration();
    jsm.updateStream(
        StreamConfiguration.builder(config)
            .addSubjects(stream.subjectBase() + "-parked.>")
            .build());

    await()
        .atMost(WAIT)
        .until(
            () ->
                counter(registry, "parked", "dead_lettered") == 1
                    && fx.lastMessage(stream, nowhere) != null
                    && fx.settled(stream, "parked"));
    assertThat(fx.lastMessage(stream, nowhere).getHeaders().getFirst(OutboxHeaders.ERROR))
        .isEqualTo("IllegalStateException: always fails");
  }

  @Test
  void transientDatabaseFailuresAreRetriedBeyondMaxDeliveriesWithoutDeadLetter() {
    TestStream stream = fx.stream();
    fx.started(
        fx.consumer(
                stream,
                "transient",
                (h, e) -> {
                  if (e.metadata().deliveries() <= 4) {
                    throw new SQLException("terminating connection", "57P01");
                  }
                  applyEffect(h, "transient", e, "transient");
                })
            .maxDeliveries(2));

    stream.relay().publish(TestRelay.event("m-1", "{}"));

    await()
        .atMost(WAIT)
        .until(() -> fx.effects("transient") >= 1 && fx.settled(stream, "transient"));
    assertThat(fx.effects("transient")).isEqualTo(1);
    assertThat(fx.count("SELECT max(deliveries) FROM effect WHERE consumer = 'transient'"))
        .isEqualTo(5);
    assertThat(fx.lastMessage(stream, stream.deadLetterSubject("transient"))).isNull();
  }

  @Test
  void closeFinishesTheMessageInHandAndAcksEverythingApplied() throws Exception {
    TestStream stream = fx.stream();
    for (int i = 0; i < 50; i++) {
      stream.relay().publish(TestRelay.event("m-" + i, "{}"));
    }
    CountDownLatch inHand = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    OutboxConsumer first =
        fx.started(
            fx.consumer(
                    stream,
                    "drain",
                    (h, e) -> {
                      applyEffect(h, "drain", e, "first");
                      if (e.aggregateId().equals("m-10")) {
                        inHand.countDown();
                        assertThat(release.await(60, TimeUnit.SECONDS)).isTrue();
                      }
                    })
                // One message per transaction, so that "in hand" is exactly m-10 (with more, close
                // finishes the transaction in hand the same way).
                .transactionSize(1));
    assertThat(inHand.await(60, TimeUnit.SECONDS)).isTrue();

    CompletableFuture<Void> closing = CompletableFuture.runAsync(first::close);
    // close() waits for the message in hand
    assertThatThrownBy(() -> closing.get(500, TimeUnit.MILLISECONDS))
        .isInstanceOf(TimeoutException.class);
    assertThat(first.isRunning()).isTrue();
    release.countDown();
    closing.get(60, TimeUnit.SECONDS);

    assertThat(first.isRunning()).isFalse();
    assertThat(
            fx.count(
                "SELECT count(*) FROM effect WHERE consumer = 'drain' AND aggregate_id = 'm-10'"))
        .isEqualTo(1);
    long appliedBeforeClose = fx.effects("drain");
    assertThat(appliedBeforeClose).isEqualTo(11); // m-0 .. m-10, in stream order
    // Everything applied was acknowledged before close() returned: the server's ack floor says so.
    assertThat(fx.info(stream, "drain").getAckFloor().getStreamSequence()).isEqualTo(11);

    // A restart gets the rest, and applies nothing twice. (Fetched messages that close() released
    // come back; nats-server 2.9 may even deliver a nak'ed message twice: the inbox absorbs it.)
    fx.started(fx.consumer(stream, "drain", (h, e) -> applyEffect(h, "drain", e, "second")));
    await().atMost(WAIT).until(() -> fx.effects("drain") >= 50 && fx.settled(stream, "drain"));
    assertThat(fx.effects("drain")).isEqualTo(50);
    assertThat(fx.count("SELECT count(DISTINCT message_id) FROM effect WHERE consumer = 'drain'"))
        .isEqualTo(50);
    assertThat(
            fx.count(
                "SELECT count(*) FROM effect WHERE consumer = 'drain' AND applied_by = 'first'"))
        .isEqualTo(appliedBeforeClose);
  }

  @Test
  void startFailsWithTheFixWhenTheInboxTableOrTheStreamIsMissing() {
    TestStream stream = fx.stream();
    OutboxConsumer noInbox =
        fx.consumer(stream, "noinbox", (h, e) -> {})
            .inboxTable(TableName.of("public", "no_such_inbox"))
            .build();
    assertThatThrownBy(noInbox::start)
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("public.no_such_inbox does not exist")
        .hasMessageContaining("OutboxSchema.migrateInbox");
    assertThat(noInbox.isRunning()).isFalse();

    OutboxConsumer noStream =
        fx.consumer(stream, "nostream", (h, e) -> {}).stream(stream.name() + "_MISSING").build();
    assertThatThrownBy(noStream::start)
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("stream " + stream.name() + "_MISSING does not exist");

    OutboxConsumer once = fx.started(fx.consumer(stream, "once", (h, e) -> {}));
    assertThatThrownBy(once::start)
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("already started");
  }

  @Test
  void theDurableConsumerIsConfiguredSoTheServerNeverDropsAMessage() {
    TestStream stream = fx.stream();
    fx.started(
        fx.consumer(stream, "config", (h, e) -> {})
            .ackWait(Duration.ofSeconds(7))
            .maxAckPending(42)
            .batchSize(10)
            .filterSubject(stream.subjectBase() + ".meter.>"));
    var config = fx.info(stream, "config").getConsumerConfiguration();
    assertThat(config.getDurable()).isEqualTo("config");
    assertThat(config.getAckPolicy()).isEqualTo(io.nats.client.api.AckPolicy.Explicit);
    assertThat(config.getMaxDeliver()).isEqualTo(-1);
    assertThat(config.getAckWait()).isEqualTo(Duration.ofSeconds(7));
    assertThat(config.getMaxAckPending()).isEqualTo(42);
    assertThat(config.getFilterSubject()).isEqualTo(stream.subjectBase() + ".meter.>");
  }
}
