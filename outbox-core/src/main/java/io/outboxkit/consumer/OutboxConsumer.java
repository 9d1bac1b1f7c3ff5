package io.outboxkit.consumer;

import io.nats.client.Connection;
import io.nats.client.ConsumeOptions;
import io.nats.client.ConsumerContext;
import io.nats.client.IterableConsumer;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamStatusCheckedException;
import io.nats.client.Message;
import io.nats.client.StreamContext;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import io.outboxkit.OutboxException;
import io.outboxkit.TableName;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes outbox events from a JetStream stream and applies each one exactly once in effect.
 *
 * <p>For every message, in one database transaction: insert {@code (name, message id)} into the
 * inbox table ({@code ON CONFLICT DO NOTHING}); only if that inserted a row, call the {@link
 * EventHandler}; commit; then acknowledge the message. A redelivered or republished message finds
 * its id in the inbox and is acknowledged without calling the handler. A failure rolls back and the
 * message comes again after a backoff; after {@code maxDeliveries} failed deliveries it is
 * published to the dead-letter subject with the error in its headers, and the consumer moves on.
 *
 * <p>One instance runs one worker thread. Start several instances (in one or more processes) with
 * the same {@link Builder#name(String) name} to share the work of one durable JetStream consumer;
 * the inbox keeps them from applying anything twice.
 *
 * <pre>{@code
 * OutboxSchema.migrateInbox(dataSource, TableName.DEFAULT_INBOX);   // once, at deploy
 *
 * OutboxConsumer consumer =
 *     OutboxConsumer.builder()
 *         .name("billing")                          // durable consumer name and inbox key
 *         .connection(natsConnection)
 *         .jdbi(jdbi)
 *         .stream("OUTBOX")
 *         .filterSubject("outbox.meter.>")
 *         .handler((handle, event) -> {
 *           ReadingRecorded r = event.payloadAs(ReadingRecorded.class);
 *           handle.execute("INSERT INTO bill_line(meter_id, kwh) VALUES (?, ?)", r.meterId(), r.kwh());
 *         })
 *         .build()
 *         .start();
 * ...
 * consumer.close();   // on shutdown: finishes the message in hand, then returns
 * }</pre>
 *
 * <p>Thread-safe. The NATS connection and the {@code Jdbi} belong to the caller: close the consumer
 * before closing them.
 */
public final class OutboxConsumer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(OutboxConsumer.class);

  /** How long the worker waits for a message before it looks at its stop flag again. */
  private static final Duration POLL = Duration.ofMillis(200);

  /** How long one pull request stays open at the server; bounds what a stop leaves in flight. */
  private static final long PULL_EXPIRES_MILLIS = 5_000;

  private enum State {
    NEW,
    RUNNING,
    STOPPED
  }

  private final Settings settings;
  private final ConsumerMetrics metrics;
  private final MessageProcessor processor;
  private final CountDownLatch stopSignal = new CountDownLatch(1);
  private final Object lock = new Object();
  private State state = State.NEW;
  private Thread worker;
  private volatile boolean running;
  private volatile boolean stopping;
  private volatile IterableConsumer messages;

  private OutboxConsumer(Settings settings, ConsumerMetrics metrics) {
    this.settings = settings;
    this.metrics = metrics;
    this.processor = new MessageProcessor(settings, metrics);
  }

  /**
   * A builder; {@code name}, {@code connection}, {@code jdbi}, {@code stream} and {@code handler}
   * are required.
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Creates the durable JetStream consumer, or updates it to these settings (ack policy explicit,
   * no server-side delivery limit), and starts the worker thread. The worker is not a daemon
   * thread: it runs until {@link #close()}.
   *
   * @return this
   * @throws OutboxException when the inbox table or the stream does not exist, the database or
   *     JetStream cannot be reached, the server refuses the consumer's settings, or this consumer
   *     was started before
   */
  public OutboxConsumer start() {
    synchronized (lock) {
      if (state != State.NEW) {
        throw new OutboxException(
            "consumer '"
                + settings.name()
                + "' was already started"
                + (state == State.STOPPED ? " and closed" : "")
                + ": build a new OutboxConsumer to start again");
      }
      checkInboxTable();
      checkDeadLetterSubject();
      messages = subscribe();
      running = true;
      state = State.RUNNING;
      worker = new Thread(this::run, "outboxkit-consumer-" + settings.name());
      worker.start();
    }
    log.info(
        "outbox consumer '{}' started on stream {} ({}), inbox {}, dead letters to {}",
        settings.name(),
        settings.stream(),
        settings.filterSubject() == null ? "all subjects" : "filter " + settings.filterSubject(),
        settings.inboxTable(),
        settings.deadLetterSubject());
    return this;
  }

  /**
   * Stops gracefully: no new messages are taken; the message in hand is finished (committed and
   * acknowledged, or released for retry); messages already fetched but not started are released for
   * redelivery (to another instance, or to this consumer after a restart). Waits at most the {@code
   * ackWait} for the message in hand, since after that the server redelivers it anyway; the inbox
   * makes a late commit of it harmless. Idempotent.
   */
  @Override
  public void close() {
    Thread w;
    synchronized (lock) {
      if (state == State.NEW) {
        state = State.STOPPED;
        metrics.close();
        return;
      }
      w = worker;
      stopping = true;
      stopSignal.countDown();
      IterableConsumer m = messages;
      if (m != null) {
        m.stop();
      }
    }
    if (w == null || w == Thread.currentThread()) {
      return;
    }
    try {
      w.join(settings.ackWait().toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (w.isAlive()) {
      log.warn(
          "outbox consumer '{}': the message in hand did not finish within the ackWait of {};"
              + " close() returns, the worker stops once the handler returns. The server"
              + " redelivers the message; the inbox keeps it from being applied twice",
          settings.name(),
          settings.ackWait());
    }
  }

  /** The durable consumer name, also the consumer's key in the inbox table. */
  public String name() {
    return settings.name();
  }

  /** Whether the worker is running: true from {@link #start()} until it stopped after close. */
  public boolean isRunning() {
    return running;
  }

  @Override
  public String toString() {
    return "OutboxConsumer[" + settings.name() + " on " + settings.stream() + "]";
  }

  private void run() {
    try {
      while (!stopping) {
        Message message;
        try {
          message = messages.nextMessage(POLL);
        } catch (JetStreamStatusCheckedException e) {
          resubscribe(e);
          continue;
        } catch (InterruptedException e) {
          if (stopping) {
            break;
          }
          Thread.currentThread().interrupt();
          log.error("outbox consumer '{}' was interrupted; it stops", settings.name());
          break;
        }
        if (message == null) {
          if (stopping) {
            break;
          }
          if (settings.connection().getStatus() == Connection.Status.CLOSED) {
            log.error(
                "outbox consumer '{}' stops: its NATS connection was closed. Close the consumer"
                    + " before the connection",
                settings.name());
            break;
          }
          if (messages.isStopped()) {
            resubscribe(null);
          }
          continue;
        }
        List<Message> batch = gather(message);
        try {
          processor.process(batch);
        } catch (RuntimeException e) {
          // A bug outside the handler's transaction must not end consumption: keep the messages.
          log.error(
              "outbox consumer '{}': unexpected failure on {}; the messages are retried",
              settings.name(),
              message.getSubject(),
              e);
          batch.forEach(this::releaseAfterBug);
        }
      }
    } catch (RuntimeException | Error e) {
      log.error("outbox consumer '{}' stops on an unexpected error", settings.name(), e);
      throw e;
    } finally {
      releaseFetched();
      flushAcks();
      metrics.close();
      synchronized (lock) {
        state = State.STOPPED;
        running = false;
      }
      log.info("outbox consumer '{}' stopped", settings.name());
    }
  }

  /** The message, and those already fetched behind it, up to {@code transactionSize}. */
  private List<Message> gather(Message first) {
    List<Message> batch = new ArrayList<>(settings.transactionSize());
    if (first.isJetStream()) {
      batch.add(first);
    }
    Message next;
    try {
      while (batch.size() < settings.transactionSize()
          && !stopping
          && (next = messages.nextMessage(1)) != null) {
        if (next.isJetStream()) {
          batch.add(next);
        }
      }
    } catch (JetStreamStatusCheckedException e) {
      log.debug(
          "outbox consumer '{}': pull status while gathering: {}", settings.name(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return batch;
  }

  private void releaseAfterBug(Message message) {
    try {
      message.nakWithDelay(settings.backoff(message.metaData().deliveredCount()));
    } catch (RuntimeException e) {
      log.debug("outbox consumer '{}': nak failed: {}", settings.name(), e.toString());
    }
  }

  /** Naks what was fetched but not started, so it is redelivered now rather than after ackWait. */
  private void releaseFetched() {
    IterableConsumer m = messages;
    if (m == null) {
      return;
    }
    m.stop();
    List<Message> fetched = new ArrayList<>();
    try {
      Message message;
      while (fetched.size() < settings.batchSize() * 2 && (message = m.nextMessage(1)) != null) {
        if (message.isJetStream()) {
          fetched.add(message);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (JetStreamStatusCheckedException | RuntimeException e) {
      log.debug("outbox consumer '{}': draining fetched messages ended: {}", settings.name(), e);
    }
    // Unsubscribe before the naks: else the server may redeliver them at once into this
    // consumer's still open pull request, where nobody reads them until ackWait.
    try {
      m.close();
    } catch (Exception e) {
      log.debug("outbox consumer '{}': closing the subscription failed: {}", settings.name(), e);
    }
    for (Message message : fetched) {
      try {
        message.nak();
      } catch (RuntimeException e) {
        break; // the connection is gone: the server redelivers after ackWait
      }
    }
    if (!fetched.isEmpty()) {
      log.debug(
          "outbox consumer '{}' released {} fetched messages", settings.name(), fetched.size());
    }
  }

  /** Acks are sent asynchronously: make sure they reached the server before returning. */
  private void flushAcks() {
    try {
      if (settings.connection().getStatus() == Connection.Status.CONNECTED) {
        settings.connection().flush(Duration.ofSeconds(5));
      }
    } catch (Exception e) {
      log.warn(
          "outbox consumer '{}': could not flush the last acks ({}); unacked messages are"
              + " redelivered and recognised as duplicates",
          settings.name(),
          e.toString());
    }
  }

  /** After the server ended the subscription (e.g. the consumer was deleted): set it up again. */
  private void resubscribe(Exception cause) {
    long delay = settings.backoffInitial().toMillis();
    while (!stopping) {
      log.warn(
          "outbox consumer '{}': the subscription ended{}; setting it up again",
          settings.name(),
          cause == null ? "" : " (" + cause.getMessage() + ")");
      try {
        messages.close();
      } catch (Exception e) {
        // already closed
      }
      try {
        messages = subscribe();
        return;
      } catch (OutboxException e) {
        log.warn(
            "outbox consumer '{}': {}; retrying in {} ms", settings.name(), e.getMessage(), delay);
        cause = e;
      }
      try {
        if (stopSignal.await(delay, TimeUnit.MILLISECONDS)) {
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      delay = Math.min(delay * 2, settings.backoffMax().toMillis());
    }
  }

  private IterableConsumer subscribe() {
    String stream = settings.stream();
    try {
      StreamContext streamContext = settings.connection().getStreamContext(stream);
      ConsumerContext consumer = streamContext.createOrUpdateConsumer(consumerConfiguration());
      return consumer.iterate(
          ConsumeOptions.builder()
              .batchSize(settings.batchSize())
              .expiresIn(PULL_EXPIRES_MILLIS)
              .build());
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == 10059) {
        throw new OutboxException(
            "stream "
                + stream
                + " does not exist: create it (the relay provisions it) or set stream(...) to an"
                + " existing stream",
            e);
      }
      throw new OutboxException(
          "the NATS server refused durable consumer '"
              + settings.name()
              + "' on stream "
              + stream
              + ": "
              + e.getMessage()
              + ". If it exists with settings that cannot change, delete it (nats consumer rm "
              + stream
              + " "
              + settings.name()
              + ") or choose another name",
          e);
    } catch (IOException e) {
      throw new OutboxException(
          "could not set up durable consumer '"
              + settings.name()
              + "' on stream "
              + stream
              + ": "
              + e.getMessage()
              + ". Is the NATS connection up and JetStream enabled (nats-server -js)?",
          e);
    }
  }

  private ConsumerConfiguration consumerConfiguration() {
    ConsumerConfiguration.Builder b =
        ConsumerConfiguration.builder()
            .durable(settings.name())
            .ackPolicy(AckPolicy.Explicit)
            .deliverPolicy(DeliverPolicy.All)
            // The library counts deliveries itself: the server must never drop a message.
            .maxDeliver(-1)
            .ackWait(settings.ackWait())
            .maxAckPending(settings.maxAckPending());
    if (settings.filterSubject() != null) {
      b.filterSubject(settings.filterSubject());
    }
    return b.build();
  }

  private void checkInboxTable() {
    TableName inbox = settings.inboxTable();
    boolean exists;
    try {
      exists =
          settings
              .jdbi()
              .withHandle(
                  h ->
                      h.select("SELECT to_regclass(?) IS NOT NULL", inbox.qualified())
                          .mapTo(Boolean.class)
                          .one());
    } catch (RuntimeException e) {
      throw new OutboxException(
          "consumer '"
              + settings.name()
              + "' could not check its inbox table "
              + inbox
              + ": "
              + e.getMessage()
              + ". Is the database reachable?",
          e);
    }
    if (!exists) {
      throw new OutboxException(
          "the inbox table "
              + inbox
              + " does not exist: create it with OutboxSchema.migrateInbox(dataSource,"
              + " TableName.parse(\""
              + inbox
              + "\"))");
    }
  }

  /** A dead-letter subject that no stream captures means poison messages can never leave. */
  private void checkDeadLetterSubject() {
    try {
      List<String> streams =
          settings.connection().jetStreamManagement().getStreamNames(settings.deadLetterSubject());
      if (streams.isEmpty()) {
        log.warn(
            "outbox consumer '{}': no stream captures the dead-letter subject {}. Until one"
                + " does, messages that exhaust their deliveries are retried instead of"
                + " dead-lettered. Add the subject (or e.g. outbox-dlq.>) to a stream's subjects",
            settings.name(),
            settings.deadLetterSubject());
      }
    } catch (IOException | JetStreamApiException e) {
      log.debug("could not check the dead-letter subject: {}", e.toString());
    }
  }

  /**
   * Settings of an {@link OutboxConsumer}, checked by {@link #build()}.
   *
   * <pre>{@code
   * OutboxConsumer consumer = OutboxConsumer.builder()
   *     .name("billing").connection(nc).jdbi(jdbi).stream("OUTBOX").handler(handler)
   *     .maxDeliveries(10)
   *     .backoff(Duration.ofMillis(500), Duration.ofMinutes(2))
   *     .build();
   * }</pre>
   */
  public static final class Builder {
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
    private Runnable afterCommit = () -> {};

    private Builder() {}

    /**
     * Required. The durable JetStream consumer's name and this consumer's key in the inbox table:
     * instances with the same name share the work and the record of what was applied. 1 to 128
     * characters of {@code A-Z a-z 0-9 _ -}. Renaming a consumer starts it afresh: it replays the
     * stream and applies everything again under the new name.
     */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    /** Required. The NATS connection; owned by the caller, who closes it after the consumer. */
    public Builder connection(Connection connection) {
      this.connection = connection;
      return this;
    }

    /** Required. Where the inbox table and the handler's effects live. */
    public Builder jdbi(Jdbi jdbi) {
      this.jdbi = jdbi;
      return this;
    }

    /** Required. The JetStream stream to consume, e.g. {@code OUTBOX}. */
    public Builder stream(String stream) {
      this.stream = stream;
      return this;
    }

    /** Required. Applies each event, in the inbox transaction. */
    public Builder handler(EventHandler handler) {
      this.handler = handler;
      return this;
    }

    /**
     * The subjects to consume, e.g. {@code outbox.meter.>}. Default: all subjects of the stream.
     * Then dead-letter copies that the stream also holds (messages carrying {@code
     * Outbox-Dead-Lettered-By}) are acknowledged and skipped, never handled; with a filter, the
     * consumer gets exactly what it matches. The server (2.9) takes one filter per consumer.
     */
    public Builder filterSubject(String filterSubject) {
      this.filterSubject = filterSubject;
      return this;
    }

    /**
     * The inbox table, created by {@link io.outboxkit.OutboxSchema#migrateInbox}. Default {@code
     * public.outbox_inbox}.
     */
    public Builder inboxTable(TableName inboxTable) {
      this.inboxTable = inboxTable;
      return this;
    }

    /**
     * After this many failed deliveries of a message, it is dead-lettered. Default 5. Counted by
     * the server's delivery count, so redeliveries for other reasons (ack timeout, a restart) count
     * too. Transient database failures (lost connection, serialization failure, deadlock) never
     * lead to a dead letter: they are retried with backoff until the database is back.
     */
    public Builder maxDeliveries(int maxDeliveries) {
      this.maxDeliveries = maxDeliveries;
      return this;
    }

    /**
     * Delay before a failed message comes again: {@code initial} after the first failure, doubled
     * after each further one, at most {@code max}. Default 1 s doubling to 60 s.
     */
    public Builder backoff(Duration initial, Duration max) {
      this.backoffInitial = initial;
      this.backoffMax = max;
      return this;
    }

    /**
     * How long the server waits for the acknowledgement of a delivered message before it delivers
     * it again. Must exceed your slowest handler, else a slow message is delivered twice (still
     * applied once: the second transaction waits on the first one's inbox row, then finds it). Also
     * the most {@link #close()} waits for the message in hand. Default 30 s; at least 1 s.
     */
    public Builder ackWait(Duration ackWait) {
      this.ackWait = ackWait;
      return this;
    }

    /**
     * The most messages delivered and not yet acknowledged, over all instances of this consumer.
     * Default 1000. Use 1 for strict stream order: a failing message then holds up the rest.
     */
    public Builder maxAckPending(int maxAckPending) {
      this.maxAckPending = maxAckPending;
      return this;
    }

    /**
     * How many messages, already at hand, are applied in one database transaction. Default 50;
     * {@code 1} gives every message a transaction of its own. One commit for many messages is what
     * lets a consumer keep up with a busy stream: each message still gets its own inbox row, in
     * stream order. If anything in such a transaction fails, it is rolled back and its messages are
     * applied again one transaction each, so a failure is charged to the message that caused it and
     * the others are not held back.
     */
    public Builder transactionSize(int transactionSize) {
      this.transactionSize = transactionSize;
      return this;
    }

    /** How many messages one pull asks for; at most {@code maxAckPending}. Default 100. */
    public Builder batchSize(int batchSize) {
      this.batchSize = batchSize;
      return this;
    }

    /**
     * Where messages go after {@code maxDeliveries} failed deliveries. A stream must capture this
     * subject (the default stream captures {@code outbox-dlq.>}); until one does, such messages are
     * retried and an ERROR log says so. Default {@code "outbox-dlq." + name}.
     */
    public Builder deadLetterSubject(String deadLetterSubject) {
      this.deadLetterSubject = deadLetterSubject;
      return this;
    }

    /**
     * Optional Micrometer registry for the meters {@code outboxkit.consumer.messages} (tags
     * consumer, outcome), {@code outboxkit.consumer.handle}, {@code outboxkit.consumer.lag} and
     * {@code outboxkit.consumer.last.applied.commit.time}. Default: no metrics, and Micrometer need
     * not be on the class path.
     */
    public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry meterRegistry) {
      this.meterRegistry = meterRegistry;
      return this;
    }

    /** Test hook: runs after the commit, before the ack. */
    Builder afterCommit(Runnable afterCommit) {
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
      } else if (!Subjects.NAME.matcher(name).matches()) {
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
      } else if (!Subjects.validStreamName(stream)) {
        problems.add(
            "stream '"
                + stream
                + "' is not a valid stream name: no spaces, '.', '*', '>', '/' or '\\'");
      }
      if (handler == null) {
        problems.add("handler is missing: set handler((handle, event) -> ...)");
      }
      if (filterSubject != null && !Subjects.validSubject(filterSubject, true)) {
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
      if (deadLetterSubject != null && !Subjects.validSubject(deadLetterSubject, false)) {
        problems.add(
            "deadLetterSubject '"
                + deadLetterSubject
                + "' is not a valid subject to publish to: dot-separated tokens, no wildcards");
      } else if (dlq != null
          && filterSubject != null
          && Subjects.validSubject(filterSubject, true)
          && Subjects.matches(filterSubject, dlq)) {
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
              backoffInitial,
              backoffMax,
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
      return new OutboxConsumer(settings, metrics);
    }
  }
}
