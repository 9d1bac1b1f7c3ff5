package io.outboxkit.consumer;

import io.nats.client.Message;
import io.nats.client.PublishOptions;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsJetStreamMetaData;
import io.outboxkit.OutboxHeaders;
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
 * Applies one JetStream message exactly once in effect: inbox insert, handler, commit, ack; or
 * rollback and retry with backoff; or dead letter. Used by one worker thread.
 */
final class MessageProcessor {
  private static final Logger log = LoggerFactory.getLogger(OutboxConsumer.class);

  /** {@code Outbox-Error-Kind} of a message that has no {@code Nats-Msg-Id}. */
  static final String MISSING_MESSAGE_ID = "missing-message-id";

  /** The longest {@code Outbox-Error} value, in characters. */
  static final int MAX_ERROR_LENGTH = 1000;

  private final Settings settings;
  private final ConsumerMetrics metrics;
  private final String insertInbox;

  MessageProcessor(Settings settings, ConsumerMetrics metrics) {
    this.settings = settings;
    this.metrics = metrics;
    this.insertInbox =
        "INSERT INTO "
            + settings.inboxTable().qualified()
            + " (consumer, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING";
  }

  /**
   * Applies messages fetched together in one transaction, in order; each still gets its own inbox
   * row. If the transaction fails, it is rolled back and the messages are applied one transaction
   * each, which charges the failure to the message that caused it.
   */
  void process(List<Message> batch) {
    if (batch.size() <= 1) {
      batch.forEach(this::process);
      return;
    }
    List<Message> messages = new ArrayList<>(batch.size());
    List<InboundEvent> events = new ArrayList<>(batch.size());
    for (Message message : batch) {
      Headers headers = message.getHeaders();
      String id = headers == null ? null : headers.getFirst(OutboxHeaders.MSG_ID);
      boolean deadLetterCopy =
          settings.filterSubject() == null
              && headers != null
              && headers.containsKey(OutboxHeaders.DEAD_LETTERED_BY);
      if (deadLetterCopy || id == null || id.isBlank()) {
        process(message); // skipped or dead-lettered on its own, without the database
        continue;
      }
      messages.add(message);
      events.add(event(message, message.metaData(), headers, id));
    }
    if (messages.size() <= 1) {
      messages.forEach(this::process);
      return;
    }
    int n = messages.size();
    boolean[] applied = new boolean[n];
    long start = System.nanoTime();
    try {
      settings
          .jdbi()
          .useTransaction(
              handle -> {
                for (int i = 0; i < n; i++) {
                  InboundEvent event = events.get(i);
                  int inserted =
                      handle
                          .createUpdate(insertInbox)
                          .bind(0, settings.name())
                          .bind(1, event.id())
                          .execute();
                  if (inserted == 1) {
                    traceHandling(event);
                    settings.handler().handle(handle, event);
                    applied[i] = true;
                  }
                }
              });
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      metrics.transaction(System.nanoTime() - start);
      log.debug(
          "outbox consumer '{}': a transaction of {} messages failed ({}); applying them one"
              + " transaction each",
          settings.name(),
          n,
          e.toString());
      messages.forEach(this::process);
      return;
    }
    metrics.transaction(System.nanoTime() - start);
    settings.afterCommit().run();
    for (int i = 0; i < n; i++) {
      ack(messages.get(i), events.get(i).id());
      if (applied[i]) {
        metrics.outcome(Outcome.APPLIED);
        metrics.applied(events.get(i).metadata().committedAt());
      } else {
        metrics.outcome(Outcome.DUPLICATE);
      }
    }
  }

  void process(Message message) {
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
      return;
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
      return;
    }
    InboundEvent event = event(message, meta, headers, id);
    traceHandling(event);
    long start = System.nanoTime();
    boolean[] handlerCalled = {false};
    boolean applied;
    try {
      applied =
          settings
              .jdbi()
              .inTransaction(
                  handle -> {
                    int inserted =
                        handle
                            .createUpdate(insertInbox)
                            .bind(0, settings.name())
                            .bind(1, id)
                            .execute();
                    if (inserted == 0) {
                      return false;
                    }
                    handlerCalled[0] = true;
                    settings.handler().handle(handle, event);
                    return true;
                  });
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      metrics.transaction(System.nanoTime() - start);
      failed(message, meta, event, e, handlerCalled[0]);
      return;
    }
    metrics.transaction(System.nanoTime() - start);
    settings.afterCommit().run();
    ack(message, id);
    if (applied) {
      metrics.outcome(Outcome.APPLIED);
      metrics.applied(event.metadata().committedAt());
    } else {
      log.debug(
          "outbox consumer '{}': message {} ({}, delivery {}, stream sequence {}) was applied"
              + " before; acknowledged",
          settings.name(),
          id,
          event.aggregateId(),
          meta.deliveredCount(),
          meta.streamSequence());
      metrics.outcome(Outcome.DUPLICATE);
    }
  }

  /**
   * Rolled back. Only the message's own failures count toward the dead letter: those of the handler
   * or its commit, unless transient. A failure before the handler ran (no connection, no inbox
   * table, no permission) is the system's, not the message's: it is retried until fixed.
   */
  private void failed(
      Message message,
      NatsJetStreamMetaData meta,
      InboundEvent event,
      Throwable e,
      boolean handlerCalled) {
    long deliveries = meta.deliveredCount();
    boolean systemFailure = !handlerCalled || isTransient(e);
    if (!systemFailure && deliveries >= settings.maxDeliveries()) {
      deadLetter(message, meta, event.id(), e.getClass().getName(), describe(e), e);
      return;
    }
    Duration delay = settings.backoff(deliveries);
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
    copy.put(OutboxHeaders.ERROR, headerValue(reason));
    copy.put(OutboxHeaders.ERROR_KIND, headerValue(kind));
    copy.put(OutboxHeaders.ORIGINAL_SUBJECT, message.getSubject());
    copy.put(OutboxHeaders.DEAD_LETTERED_BY, settings.name());
    copy.put(OutboxHeaders.DELIVERIES, Long.toString(deliveries));
    try {
      settings
          .connection()
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
      Duration delay = settings.backoff(deliveries);
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

  private InboundEvent event(
      Message message, NatsJetStreamMetaData meta, Headers headers, String id) {
    Map<String, String> map = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> entry : headers.entrySet()) {
      if (!entry.getValue().isEmpty()) {
        map.put(entry.getKey(), entry.getValue().get(0));
      }
    }
    return new InboundEvent(
        id,
        headers.getFirst(OutboxHeaders.AGGREGATE_TYPE),
        headers.getFirst(OutboxHeaders.AGGREGATE_ID),
        headers.getFirst(OutboxHeaders.EVENT_TYPE),
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

  /** The exception's message, with its root cause's when that differs. */
  static String describe(Throwable e) {
    String message = e.getMessage() == null ? e.getClass().getName() : e.getMessage();
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root != e && root.getMessage() != null && !message.contains(root.getMessage())) {
      message =
          message + " (caused by " + root.getClass().getName() + ": " + root.getMessage() + ")";
    }
    return message;
  }

  /**
   * One line of US-ASCII, at most {@link #MAX_ERROR_LENGTH} characters: what a header can carry.
   */
  static String headerValue(String text) {
    StringBuilder sb = new StringBuilder(Math.min(text.length(), MAX_ERROR_LENGTH));
    for (int i = 0; i < text.length() && sb.length() < MAX_ERROR_LENGTH; i++) {
      char c = text.charAt(i);
      if (c == '\r' || c == '\n' || c == '\t') {
        sb.append(' ');
      } else if (c < 32 || c > 126) {
        sb.append('?');
      } else {
        sb.append(c);
      }
    }
    if (text.length() > MAX_ERROR_LENGTH) {
      sb.setLength(MAX_ERROR_LENGTH - 3);
      sb.append("...");
    }
    return sb.toString();
  }
}
