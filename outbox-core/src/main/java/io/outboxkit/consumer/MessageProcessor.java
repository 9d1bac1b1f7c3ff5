package io.outboxkit.consumer;

import io.nats.client.Message;
import io.nats.client.PublishOptions;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsJetStreamMetaData;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
import io.outboxkit.HeaderValues;
import io.outboxkit.OutboxException;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxTracing;
import io.outboxkit.consumer.ConsumerMetrics.Outcome;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies JetStream messages exactly once in effect: inbox insert, handler, commit, ack; or
 * rollback and retry with backoff; or dead letter. Hands the handler the original values of the
 * routing fields and headers, decoded by {@link HeaderValues}. Used by one worker thread.
 */
final class MessageProcessor {
  private static final Logger log = LoggerFactory.getLogger(OutboxConsumer.class);

  /** {@code Outbox-Error-Kind} of a message that has no {@code Nats-Msg-Id}. */
  static final String MISSING_MESSAGE_ID = "missing-message-id";

  /** The longest {@code Outbox-Error} value on the wire (encoded), in characters. */
  static final int MAX_ERROR_LENGTH = 1000;

  private final Settings settings;
  private final ConsumerConnection connection;
  private final ConsumerMetrics metrics;
  private final ConsumerTracing tracing;
  private final String insertInbox;

  MessageProcessor(
      Settings settings,
      ConsumerConnection connection,
      ConsumerMetrics metrics,
      ConsumerTracing tracing) {
    this.settings = settings;
    this.connection = connection;
    this.metrics = metrics;
    this.tracing = tracing;
    this.insertInbox =
        "INSERT INTO "
            + settings.inboxTable().qualified()
            + " (consumer, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING";
  }

  /**
   * Applies messages fetched together, in order, in one transaction; each gets its own inbox row. A
   * single message is a batch of one. If the transaction fails and held more than one message, it
   * is rolled back and each message is applied again in a transaction of its own, which charges the
   * failure to the message that caused it. Dead-letter copies are skipped and messages without
   * {@code Nats-Msg-Id} dead-lettered on their own, without the database.
   */
  void process(List<Message> batch) {
    List<Pending> pending = new ArrayList<>(batch.size());
    for (Message message : batch) {
      NatsJetStreamMetaData meta = message.metaData();
      Headers headers = message.getHeaders();
      if (settings.filterSubject() == null
          && headers != null
          && headers.containsKey(OutboxHeaders.DEAD_LETTERED_BY)) {
        // A dead-letter copy in the consumed stream: never an event to apply again.
        log.debug(
            "outbox consumer '{}' skips dead-letter copy on {}",
            settings.name(),
            message.getSubject());
        ack(message, null);
        metrics.outcome(Outcome.SKIPPED);
        continue;
      }
      String id = headers == null ? null : headers.getFirst(OutboxHeaders.MSG_ID);
      if (id == null || id.isBlank()) {
        deadLetter(
            message,
            meta,
            null,
            MISSING_MESSAGE_ID,
            "message has no Nats-Msg-Id header, so it cannot be deduplicated: publish it with"
                + " Nats-Msg-Id = the outbox id",
            null);
        continue;
      }
      pending.add(new Pending(message, meta, event(message, meta, headers, id)));
    }
    if (!pending.isEmpty()) {
      apply(pending);
    }
  }

  /** One message at hand: the JetStream message, its metadata and the decoded event. */
  private record Pending(Message message, NatsJetStreamMetaData meta, InboundEvent event) {}

  /** One transaction over {@code pending}; on failure, a transaction per message, or retry. */
  private void apply(List<Pending> pending) {
    int n = pending.size();
    boolean[] applied = new boolean[n];
    boolean[] handlerCalled = {false};
    long start = System.nanoTime();
    try {
      settings
          .jdbi()
          .useTransaction(
              handle -> {
                for (int i = 0; i < n; i++) {
                  Pending p = pending.get(i);
                  InboundEvent event = p.event();
                  Span span = tracing.start(p.message(), event);
                  try (Scope scope = span.makeCurrent()) {
                    int inserted =
                        handle
                            .createUpdate(insertInbox)
                            .bind(0, settings.name())
                            .bind(1, event.id())
                            .execute();
                    if (inserted == 1) {
                      traceHandling(event);
                      handlerCalled[0] = true;
                      settings.handler().handle(handle, event);
                      applied[i] = true;
                    } else {
                      span.setAttribute(OutboxTracing.DUPLICATE, true);
                    }
                  } catch (Throwable e) {
                    ConsumerTracing.failed(span, e);
                    throw e;
                  } finally {
                    span.end();
                  }
                }
              });
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      metrics.transaction(System.nanoTime() - start);
      if (n > 1) {
        log.debug(
            "outbox consumer '{}': a transaction of {} messages failed ({}); applying them one"
                + " transaction each",
            settings.name(),
            n,
            e.toString());
        pending.forEach(p -> apply(List.of(p)));
      } else {
        failed(pending.get(0), e, handlerCalled[0]);
      }
      return;
    }
    metrics.transaction(System.nanoTime() - start);
    settings.afterCommit().run();
    for (int i = 0; i < n; i++) {
      Pending p = pending.get(i);
      ack(p.message(), p.event().id());
      if (applied[i]) {
        metrics.outcome(Outcome.APPLIED);
        metrics.applied(p.event().metadata().committedAt());
      } else {
        log.debug(
            "outbox consumer '{}': message {} ({}, delivery {}, stream sequence {}) was applied"
                + " before; acknowledged",
            settings.name(),
            p.event().id(),
            p.event().aggregateId(),
            p.meta().deliveredCount(),
            p.meta().streamSequence());
        metrics.outcome(Outcome.DUPLICATE);
      }
    }
  }

  /**
   * Rolled back. Only the message's own failures count toward the dead letter: those of the handler
   * or its commit, unless transient. A failure before the handler ran (no connection, no inbox
   * table, no permission) is the system's, not the message's: it is retried until fixed.
   */
  private void failed(Pending pending, Throwable e, boolean handlerCalled) {
    Message message = pending.message();
    NatsJetStreamMetaData meta = pending.meta();
    InboundEvent event = pending.event();
    long deliveries = meta.deliveredCount();
    boolean systemFailure = !handlerCalled || isTransient(e);
    if (!systemFailure && deliveries >= settings.maxDeliveries()) {
      deadLetter(message, meta, event.id(), e.getClass().getName(), OutboxException.describe(e), e);
      return;
    }
    Duration delay = settings.retryDelay(deliveries);
    log.warn(
        "outbox consumer '{}': delivery {} of message {} ({} on {}) failed{}; retrying in {} ms: {}",
        settings.name(),
        deliveries,
        event.id(),
        event.eventType(),
        message.getSubject(),
        systemFailure
            ? (handlerCalled ? " with a transient database error" : " before the handler ran")
                + " (retried, never dead-lettered)"
            : " (" + deliveries + " of " + settings.maxDeliveries() + " before dead letter)",
        delay.toMillis(),
        e.toString());
    nak(message, delay);
    metrics.outcome(Outcome.FAILED);
  }

  /**
   * Publishes a copy (same body and headers, plus the reason) to the dead-letter subject, then
   * terminates the message. If the publish fails, the message is kept and retried.
   */
  private void deadLetter(
      Message message,
      NatsJetStreamMetaData meta,
      String id,
      String kind,
      String reason,
      Throwable cause) {
    long deliveries = meta.deliveredCount();
    String dedupe =
        "dlq-"
            + settings.name()
            + "-"
            + (id != null ? id : meta.getStream() + "-" + meta.streamSequence());
    Headers copy = new Headers(message.getHeaders());
    copy.put(OutboxHeaders.MSG_ID, dedupe);
    copy.put(OutboxHeaders.ERROR, HeaderValues.encodeAtMost(reason, MAX_ERROR_LENGTH));
    copy.put(OutboxHeaders.ERROR_KIND, HeaderValues.encodeAtMost(kind, MAX_ERROR_LENGTH));
    copy.put(OutboxHeaders.ORIGINAL_SUBJECT, HeaderValues.encode(message.getSubject()));
    copy.put(OutboxHeaders.DEAD_LETTERED_BY, settings.name());
    copy.put(OutboxHeaders.DELIVERIES, Long.toString(deliveries));
    try {
      connection
          .get()
          .jetStream()
          .publish(
              settings.deadLetterSubject(),
              copy,
              message.getData(),
              PublishOptions.builder().messageId(dedupe).build());
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      Duration delay = settings.retryDelay(deliveries);
      log.error(
          "outbox consumer '{}' could not dead-letter message {} (from {}) to subject {}: {}."
              + " Make a stream capture that subject: add '{}' or a wildcard such as"
              + " 'outbox-dlq.>' to a stream's subjects. The message is kept and retried in {} ms",
          settings.name(),
          id != null ? id : "without Nats-Msg-Id",
          message.getSubject(),
          settings.deadLetterSubject(),
          e.toString(),
          settings.deadLetterSubject(),
          delay.toMillis());
      nak(message, delay);
      metrics.outcome(Outcome.FAILED);
      return;
    }
    try {
      message.term();
    } catch (RuntimeException e) {
      log.warn(
          "outbox consumer '{}': terminating dead-lettered message {} failed ({}); it comes"
              + " again and is dead-lettered again, deduplicated by the stream",
          settings.name(),
          id,
          e.toString());
    }
    metrics.outcome(Outcome.DEAD_LETTERED);
    log.error(
        "outbox consumer '{}' dead-lettered message {} (subject {}, stream sequence {}) after {}"
            + " deliveries to {}: {}: {}",
        settings.name(),
        id != null ? id : "without Nats-Msg-Id",
        message.getSubject(),
        meta.streamSequence(),
        deliveries,
        settings.deadLetterSubject(),
        kind,
        reason,
        cause);
  }

  /** Payloads are logged at TRACE only. */
  private void traceHandling(InboundEvent event) {
    if (log.isTraceEnabled()) {
      log.trace(
          "outbox consumer '{}' handles {} payload {}",
          settings.name(),
          event,
          event.payloadAsString());
    }
  }

  private void ack(Message message, String id) {
    try {
      message.ack();
    } catch (RuntimeException e) {
      log.warn(
          "outbox consumer '{}': ack of message {} failed ({}); it is redelivered and recognised"
              + " as applied",
          settings.name(),
          id,
          e.toString());
    }
  }

  private void nak(Message message, Duration delay) {
    try {
      message.nakWithDelay(delay);
    } catch (RuntimeException e) {
      log.warn(
          "outbox consumer '{}': nak failed ({}); the server redelivers after ackWait",
          settings.name(),
          e.toString());
    }
  }

  /** The event as the writer wrote it: every header value decoded by {@link HeaderValues}. */
  private InboundEvent event(
      Message message, NatsJetStreamMetaData meta, Headers headers, String id) {
    Map<String, String> map = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> entry : headers.entrySet()) {
      if (!entry.getValue().isEmpty()) {
        map.put(entry.getKey(), HeaderValues.decode(entry.getValue().get(0)));
      }
    }
    return new InboundEvent(
        id,
        map.get(OutboxHeaders.AGGREGATE_TYPE),
        map.get(OutboxHeaders.AGGREGATE_ID),
        map.get(OutboxHeaders.EVENT_TYPE),
        map,
        message.getData(),
        new InboundEvent.Metadata(
            message.getSubject(),
            meta.getStream(),
            meta.streamSequence(),
            meta.deliveredCount(),
            meta.timestamp() == null ? null : meta.timestamp().toInstant(),
            commitTime(headers.getFirst(OutboxHeaders.COMMIT_TIME))));
  }

  /** {@code Outbox-Commit-Us}: epoch microseconds; null when absent or not a number. */
  static Instant commitTime(String micros) {
    if (micros == null) {
      return null;
    }
    try {
      long us = Long.parseLong(micros.trim());
      return Instant.ofEpochSecond(
          Math.floorDiv(us, 1_000_000L), Math.floorMod(us, 1_000_000L) * 1_000L);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /**
   * Failures that say nothing about the message: the database connection broke, or PostgreSQL asked
   * for a retry (serialization failure, deadlock) or is shutting down or out of resources.
   */
  static boolean isTransient(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLTransientException || t instanceof SQLRecoverableException) {
        return true;
      }
      if (t instanceof org.jdbi.v3.core.ConnectionException) {
        return true;
      }
      if (t instanceof SQLException sql && sql.getSQLState() != null) {
        String state = sql.getSQLState();
        if (state.startsWith("08") // connection exception
            || state.startsWith("53") // insufficient resources
            || state.startsWith("57P") // admin shutdown, crash shutdown, cannot connect now
            || state.equals("40001") // serialization failure
            || state.equals("40P01")) { // deadlock detected
          return true;
        }
      }
    }
    return false;
  }
}
