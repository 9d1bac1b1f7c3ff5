package io.outboxkit.consumer;

import io.nats.client.Connection;
import io.opentelemetry.api.OpenTelemetry;
import io.outboxkit.Backoff;
import io.outboxkit.NatsSubjects;
import io.outboxkit.OutboxException;
import io.outboxkit.TableName;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;

/**
 * Settings of an {@link OutboxConsumer}, from {@link OutboxConsumer#builder()}, checked by {@link
 * #build()}.
 *
 * <pre>{@code
 * OutboxConsumer consumer = OutboxConsumer.builder()
 *     .name("billing").connection(nc).jdbi(jdbi).stream("OUTBOX").handler(handler)
 *     .maxDeliveries(10)
 *     .backoff(Duration.ofMillis(500), Duration.ofMinutes(2))
 *     .openTelemetry(openTelemetry)          // optional: a process span per message
 *     .build();
 * }</pre>
 */
public final class OutboxConsumerBuilder {
  /**
   * Consumer names: stricter than NATS requires, since a name is also a subject token, a file name
   * on the server and the inbox key.
   */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,128}");

  private String name;
  private Connection connection;
  private Jdbi jdbi;
  private String stream;
  private EventHandler handler;
  private String filterSubject;
  private TableName inboxTable = TableName.DEFAULT_INBOX;
  private int maxDeliveries = 5;
  private Duration backoffInitial = Duration.ofSeconds(1);
  private Duration backoffMax = Duration.ofSeconds(60);
  private Duration ackWait = Duration.ofSeconds(30);
  private int maxAckPending = 1000;
  private int batchSize = 100;
  private int transactionSize = 50;
  private String deadLetterSubject;
  // Typed Object so that loading this class never needs Micrometer.
  private Object meterRegistry;
  private OpenTelemetry openTelemetry;
  private Runnable afterCommit = () -> {};

  OutboxConsumerBuilder() {}

  /**
   * Required. The durable JetStream consumer's name and this consumer's key in the inbox table:
   * instances with the same name share the work and the record of what was applied. 1 to 128
   * characters of {@code A-Z a-z 0-9 _ -}. Renaming a consumer starts it afresh: it replays the
   * stream and applies everything again under the new name.
   */
  public OutboxConsumerBuilder name(String name) {
    this.name = name;
    return this;
  }

  /**
   * Required. The NATS connection; owned by the caller, who closes it after the consumer. If it
   * closes while the consumer runs (jnats stops reconnecting after its {@code maxReconnects}, 60 by
   * default: about two minutes of outage), the consumer carries on with a connection of its own,
   * opened from the same {@link io.nats.client.Options} with unlimited reconnects, and closes that
   * one in {@link OutboxConsumer#close()}.
   */
  public OutboxConsumerBuilder connection(Connection connection) {
    this.connection = connection;
    return this;
  }

  /** Required. Where the inbox table and the handler's effects live. */
  public OutboxConsumerBuilder jdbi(Jdbi jdbi) {
    this.jdbi = jdbi;
    return this;
  }

  /** Required. The JetStream stream to consume, e.g. {@code OUTBOX}. */
  public OutboxConsumerBuilder stream(String stream) {
    this.stream = stream;
    return this;
  }

  /** Required. Applies each event, in the inbox transaction. */
  public OutboxConsumerBuilder handler(EventHandler handler) {
    this.handler = handler;
    return this;
  }

  /**
   * The subjects to consume, e.g. {@code outbox.meter.>}. Default: all subjects of the stream. Then
   * dead-letter copies that the stream also holds (messages carrying {@code
   * Outbox-Dead-Lettered-By}) are acknowledged and skipped, never handled; with a filter, the
   * consumer gets exactly what it matches. The server (2.9) takes one filter per consumer.
   */
  public OutboxConsumerBuilder filterSubject(String filterSubject) {
    this.filterSubject = filterSubject;
    return this;
  }

  /**
   * The inbox table, created by {@link io.outboxkit.OutboxSchema#migrateInbox}. Default {@code
   * public.outbox_inbox}.
   */
  public OutboxConsumerBuilder inboxTable(TableName inboxTable) {
    this.inboxTable = inboxTable;
    return this;
  }

  /**
   * After this many failed deliveries of a message, it is dead-lettered. Default 5. Counted by the
   * server's delivery count, so redeliveries for other reasons (ack timeout, a restart) count too.
   * Transient database failures (lost connection, serialization failure, deadlock) never lead to a
   * dead letter: they are retried with backoff until the database is back.
   */
  public OutboxConsumerBuilder maxDeliveries(int maxDeliveries) {
    this.maxDeliveries = maxDeliveries;
    return this;
  }

  /**
   * Delay before a failed message comes again: after the n-th failure, a random delay between half
   * and all of {@code min(initial × 2^n, max)}, i.e. from {@code initial} to {@code 2 × initial}
   * after the first failure, doubling, at most {@code max}. The jitter keeps messages that failed
   * together (an outage) from all coming back at once. Default 1 s doubling to 60 s (1-2 s, 2-4 s,
   * ... 30-60 s).
   */
  public OutboxConsumerBuilder backoff(Duration initial, Duration max) {
    this.backoffInitial = initial;
    this.backoffMax = max;
    return this;
  }

  /**
   * How long the server waits for the acknowledgement of a delivered message before it delivers it
   * again. Must exceed your slowest handler, else a slow message is delivered twice (still applied
   * once: the second transaction waits on the first one's inbox row, then finds it). Also the most
   * {@link #close()} waits for the message in hand. Default 30 s; at least 1 s.
   */
  public OutboxConsumerBuilder ackWait(Duration ackWait) {
    this.ackWait = ackWait;
    return this;
  }

  /**
   * The most messages delivered and not yet acknowledged, over all instances of this consumer.
   * Default 1000. Use 1 for strict stream order: a failing message then holds up the rest.
   */
  public OutboxConsumerBuilder maxAckPending(int maxAckPending) {
    this.maxAckPending = maxAckPending;
    return this;
  }

  /**
   * How many messages, already at hand, are applied in one database transaction. Default 50; {@code
   * 1} gives every message a transaction of its own. One commit for many messages is what lets a
   * consumer keep up with a busy stream: each message still gets its own inbox row, in stream
   * order. If anything in such a transaction fails, it is rolled back and its messages are applied
   * again one transaction each, so a failure is charged to the message that caused it and the
   * others are not held back.
   */
  public OutboxConsumerBuilder transactionSize(int transactionSize) {
    this.transactionSize = transactionSize;
    return this;
  }

  /** How many messages one pull asks for; at most {@code maxAckPending}. Default 100. */
  public OutboxConsumerBuilder batchSize(int batchSize) {
    this.batchSize = batchSize;
    return this;
  }

  /**
   * Where messages go after {@code maxDeliveries} failed deliveries. A stream must capture this
   * subject (the default stream captures {@code outbox-dlq.>}); until one does, such messages are
   * retried and an ERROR log says so. Default {@code "outbox-dlq." + name}.
   */
  public OutboxConsumerBuilder deadLetterSubject(String deadLetterSubject) {
    this.deadLetterSubject = deadLetterSubject;
    return this;
  }

  /**
   * Optional Micrometer registry for the meters {@code outboxkit.consumer.messages} (tags consumer,
   * outcome), {@code outboxkit.consumer.handle}, {@code outboxkit.consumer.lag} and {@code
   * outboxkit.consumer.last.applied.commit.time}. Default: no metrics, and Micrometer need not be
   * on the class path.
   */
  public OutboxConsumerBuilder meterRegistry(
      io.micrometer.core.instrument.MeterRegistry meterRegistry) {
    this.meterRegistry = meterRegistry;
    return this;
  }

  /**
   * Tracing: each message a transaction applies gets a {@code process <subject>} span of kind
   * CONSUMER around its inbox insert and handler, a child of the trace context the message carries
   * ({@code traceparent}: the relay's publish span, which continues the writer's trace), and
   * current while the handler runs, so the handler's own spans nest under it. Attributes: {@code
   * messaging.system=nats}, {@code messaging.destination.name} (the subject), {@code
   * messaging.message.id} (the outbox id), {@code messaging.consumer.group.name} (the consumer
   * name), {@code messaging.operation.name=process}; {@code outboxkit.duplicate=true} when the
   * message was applied before. A failed handler marks its span ERROR. Default: none (no spans, no
   * cost).
   */
  public OutboxConsumerBuilder openTelemetry(OpenTelemetry openTelemetry) {
    this.openTelemetry = openTelemetry;
    return this;
  }

  /** Test hook: runs after the commit, before the ack. */
  OutboxConsumerBuilder afterCommit(Runnable afterCommit) {
    this.afterCommit = afterCommit;
    return this;
  }

  /**
   * Checks the settings and builds the consumer (not started).
   *
   * @throws OutboxException naming every setting that is missing or wrong, and how to fix it
   */
  public OutboxConsumer build() {
    List<String> problems = new ArrayList<>();
    if (name == null || name.isEmpty()) {
      problems.add("name is missing: set name(\"billing\"), the durable consumer name");
    } else if (!NAME.matcher(name).matches()) {
      problems.add(
          "name '"
              + name
              + "' is not a valid durable consumer name: use 1 to 128 characters of A-Z a-z 0-9"
              + " _ - (no dots, spaces or wildcards)");
    }
    if (connection == null) {
      problems.add("connection is missing: set connection(Nats.connect(...))");
    }
    if (jdbi == null) {
      problems.add("jdbi is missing: set jdbi(Jdbi.create(dataSource))");
    }
    if (stream == null || stream.isEmpty()) {
      problems.add("stream is missing: set stream(\"OUTBOX\"), the stream the relay writes to");
    } else if (!NatsSubjects.isValidName(stream)) {
      problems.add(
          "stream '"
              + stream
              + "' is not a valid stream name: no spaces, '.', '*', '>', '/' or '\\'");
    }
    if (handler == null) {
      problems.add("handler is missing: set handler((handle, event) -> ...)");
    }
    if (filterSubject != null && !NatsSubjects.isValidSubject(filterSubject, true)) {
      problems.add(
          "filterSubject '"
              + filterSubject
              + "' is not a valid subject: use dot-separated tokens, e.g. outbox.meter.>, or"
              + " leave it unset for all subjects");
    }
    if (inboxTable == null) {
      problems.add("inboxTable is null: leave it unset for public.outbox_inbox");
    }
    if (maxDeliveries < 1) {
      problems.add("maxDeliveries is " + maxDeliveries + ": give 1 or more (default 5)");
    }
    if (backoffInitial == null
        || backoffMax == null
        || backoffInitial.toMillis() < 1
        || backoffMax.compareTo(backoffInitial) < 0) {
      problems.add(
          "backoff("
              + backoffInitial
              + ", "
              + backoffMax
              + ") is invalid: initial must be at least 1 ms and max at least initial"
              + " (default 1 s to 60 s)");
    }
    if (ackWait == null || ackWait.compareTo(Duration.ofSeconds(1)) < 0) {
      problems.add("ackWait is " + ackWait + ": give at least 1 second (default 30 s)");
    }
    if (maxAckPending < 1) {
      problems.add("maxAckPending is " + maxAckPending + ": give 1 or more (default 1000)");
    }
    if (transactionSize < 1) {
      problems.add("transactionSize is " + transactionSize + ": give 1 or more (default 50)");
    }
    if (batchSize < 1) {
      problems.add("batchSize is " + batchSize + ": give 1 or more (default 100)");
    } else if (maxAckPending >= 1 && batchSize > maxAckPending) {
      problems.add(
          "batchSize "
              + batchSize
              + " exceeds maxAckPending "
              + maxAckPending
              + ": a pull can never receive more than maxAckPending; lower batchSize");
    }
    String dlq = deadLetterSubject;
    if (dlq == null && name != null) {
      dlq = "outbox-dlq." + name;
    }
    if (deadLetterSubject != null && !NatsSubjects.isValidSubject(deadLetterSubject, false)) {
      problems.add(
          "deadLetterSubject '"
              + deadLetterSubject
              + "' is not a valid subject to publish to: dot-separated tokens, no wildcards");
    } else if (dlq != null
        && filterSubject != null
        && NatsSubjects.isValidSubject(filterSubject, true)
        && NatsSubjects.matches(filterSubject, dlq)) {
      problems.add(
          "deadLetterSubject '"
              + dlq
              + "' matches filterSubject '"
              + filterSubject
              + "': the consumer would receive its own dead letters; choose a dead-letter"
              + " subject outside the filter");
    }
    if (afterCommit == null) {
      problems.add("afterCommit is null");
    }
    if (!problems.isEmpty()) {
      throw new OutboxException(
          "OutboxConsumer"
              + (name == null ? "" : " '" + name + "'")
              + " is not configured correctly: "
              + String.join("; ", problems));
    }
    Settings settings =
        new Settings(
            name,
            connection,
            jdbi,
            stream,
            handler,
            filterSubject,
            inboxTable,
            maxDeliveries,
            Backoff.of(backoffInitial, backoffMax),
            ackWait,
            maxAckPending,
            batchSize,
            transactionSize,
            dlq,
            afterCommit);
    ConsumerMetrics metrics =
        meterRegistry == null
            ? ConsumerMetrics.NOOP
            : MicrometerConsumerMetrics.create(meterRegistry, name);
    return new OutboxConsumer(settings, metrics, ConsumerTracing.of(openTelemetry, name));
  }
}
