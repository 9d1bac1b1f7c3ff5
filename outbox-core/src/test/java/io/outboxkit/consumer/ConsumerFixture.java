package io.outboxkit.consumer;

import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.TestInfra;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Handle;

/**
 * What the consumer tests share: the inbox and an effect table in the class's database, a fresh
 * stream per test laid out like the relay's default (events under {@code <base>.>}, dead letters
 * under {@code <base>-dlq.>}), and consumers closed after each test.
 */
final class ConsumerFixture {
  private final TestInfra infra;
  private final AtomicInteger streams = new AtomicInteger();
  private final List<OutboxConsumer> consumers = new ArrayList<>();

  /** A stream of one test and its relay. */
  record TestStream(String name, String subjectBase, TestRelay relay) {
    String deadLetterSubject(String consumer) {
      return subjectBase + "-dlq." + consumer;
    }
  }

  ConsumerFixture(TestInfra infra) {
    this.infra = infra;
  }

  /** Creates the inbox (default table) and {@code effect}, the table handlers write to. */
  void migrate() {
    OutboxSchema.migrateInbox(infra.dataSource(), TableName.DEFAULT_INBOX);
    infra
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    "CREATE TABLE IF NOT EXISTS effect (consumer text NOT NULL, message_id text"
                        + " NOT NULL, aggregate_id text, applied_by text, deliveries bigint)"));
  }

  /** The effect of a handler: one row per application (no unique key, so doubles show). */
  static void applyEffect(Handle handle, String consumer, InboundEvent event, String appliedBy) {
    handle.execute(
        "INSERT INTO effect (consumer, message_id, aggregate_id, applied_by, deliveries)"
            + " VALUES (?, ?, ?, ?, ?)",
        consumer,
        event.id(),
        event.aggregateId(),
        appliedBy,
        event.metadata().deliveries());
  }

  TestStream stream() {
    return stream(Duration.ofMinutes(2));
  }

  /** A new file-backed stream with the given duplicate window. */
  TestStream stream(Duration duplicateWindow) {
    int n = streams.incrementAndGet();
    String name = infra.streamName() + "_" + n;
    String base = infra.prefix() + "_" + n;
    try {
      infra
          .nats()
          .jetStreamManagement()
          .addStream(
              StreamConfiguration.builder()
                  .name(name)
                  .subjects(base + ".>", base + "-dlq.>")
                  .storageType(StorageType.File)
                  .duplicateWindow(duplicateWindow)
                  .build());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (JetStreamApiException e) {
      throw new IllegalStateException(e);
    }
    return new TestStream(name, base, new TestRelay(infra.nats(), base));
  }

  /** A builder with the test stream's settings and fast retries; closed after the test. */
  OutboxConsumerBuilder consumer(TestStream stream, String name, EventHandler handler) {
    return OutboxConsumer.builder().name(name).connection(infra.nats()).jdbi(infra.jdbi()).stream(
            stream.name())
        .handler(handler)
        .deadLetterSubject(stream.deadLetterSubject(name))
        .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
        .ackWait(Duration.ofSeconds(5));
  }

  OutboxConsumer started(OutboxConsumerBuilder builder) {
    OutboxConsumer consumer = builder.build();
    consumers.add(consumer);
    return consumer.start();
  }

  void closeConsumers() {
    consumers.forEach(OutboxConsumer::close);
    consumers.clear();
  }

  long count(String sql, Object... args) {
    return infra.jdbi().withHandle(h -> h.select(sql, args).mapTo(Long.class).one());
  }

  long effects(String consumer) {
    return count("SELECT count(*) FROM effect WHERE consumer = ?", consumer);
  }

  long inboxRows(String consumer) {
    return count("SELECT count(*) FROM public.outbox_inbox WHERE consumer = ?", consumer);
  }

  ConsumerInfo info(TestStream stream, String consumer) {
    try {
      return infra.nats().jetStreamManagement().getConsumerInfo(stream.name(), consumer);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (JetStreamApiException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Nothing left to deliver and nothing delivered without an ack. */
  boolean settled(TestStream stream, String consumer) {
    ConsumerInfo info = info(stream, consumer);
    return info.getNumPending() == 0 && info.getNumAckPending() == 0;
  }

  /** The last message on {@code subject}, or null. */
  MessageInfo lastMessage(TestStream stream, String subject) {
    try {
      JetStreamManagement jsm = infra.nats().jetStreamManagement();
      return jsm.getLastMessage(stream.name(), subject);
    } catch (JetStreamApiException e) {
      return null; // no message on that subject yet
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
