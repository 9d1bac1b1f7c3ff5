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
 * the same {@link OutboxConsumerBuilder#name(String) name} to share the work of one durable
 * JetStream consumer; the inbox keeps them from applying anything twice.
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
 * before closing them. The consumer outlives NATS outages of any length: should the caller's
 * connection close (jnats gives up after {@code maxReconnects}), it opens one of its own from the
 * same options with unlimited reconnects, and closes it in {@link #close()}.
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
  private final ConsumerConnection connection;
  private final ConsumerMetrics metrics;
  private final MessageProcessor processor;
  private final CountDownLatch stopSignal = new CountDownLatch(1);
  private final Object lock = new Object();
  private State state = State.NEW;
  private Thread worker;
  private volatile boolean running;
  private volatile boolean stopping;
  private volatile IterableConsumer messages;

  OutboxConsumer(Settings settings, ConsumerMetrics metrics, ConsumerTracing tracing) {
    this.settings = settings;
    this.connection = new ConsumerConnection(settings.name(), settings.connection());
    this.metrics = metrics;
    this.processor = new MessageProcessor(settings, connection, metrics, tracing);
  }

  /**
   * A builder; {@code name}, {@code connection}, {@code jdbi}, {@code stream} and {@code handler}
   * are required.
   */
  public static OutboxConsumerBuilder builder() {
    return new OutboxConsumerBuilder();
  }

  /**
   * Creates the durable JetStream consumer, or updates it to these settings (ack policy explicit,
   * no server-side delivery limit), and starts the worker thread. The worker is not a daemon
   * thread: it runs until {@link #close()}.
   *
   * @return this
   * @throws OutboxException when the NATS connection is closed, the inbox table or the stream does
   *     not exist, the database or JetStream cannot be reached, the server refuses the consumer's
   *     settings, or this consumer was started before
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
      if (connection.isClosed()) {
        throw new OutboxException(
            "consumer '"
                + settings.name()
                + "' cannot start: its NATS connection is closed. Pass an open connection"
                + " (Nats.connect(...)) and close it only after the consumer");
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
          if (connection.isClosed()) {
            if (!connection.replaceClosed(stopSignal)) {
              break; // closed while waiting for NATS
            }
            resubscribe(null);
            continue;
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
      connection.close();
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
      message.nakWithDelay(settings.retryDelay(message.metaData().deliveredCount()));
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
      Connection c = connection.get();
      if (c.getStatus() == Connection.Status.CONNECTED) {
        c.flush(Duration.ofSeconds(5));
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
    for (long attempt = 1; !stopping; attempt++) {
      log.warn(
          "outbox consumer '{}': the subscription ended{}; setting it up again",
          settings.name(),
          cause == null ? "" : " (" + cause.getMessage() + ")");
      try {
        messages.close();
      } catch (Exception e) {
        // already closed
      }
      if (connection.isClosed() && !connection.replaceClosed(stopSignal)) {
        return;
      }
      long delay = settings.backoff().delay(attempt).toMillis();
      try {
        messages = subscribe();
        return;
      } catch (OutboxException | IllegalStateException e) {
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
    }
  }

  private IterableConsumer subscribe() {
    String stream = settings.stream();
    try {
      StreamContext streamContext = connection.get().getStreamContext(stream);
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
          connection.get().jetStreamManagement().getStreamNames(settings.deadLetterSubject());
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
}
