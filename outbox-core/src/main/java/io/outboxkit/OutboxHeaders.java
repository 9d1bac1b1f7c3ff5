package io.outboxkit;

/**
 * NATS header names of the outboxkit contract between the relay and consumers.
 *
 * <pre>{@code
 * String type = message.getHeaders().getFirst(OutboxHeaders.EVENT_TYPE);
 * }</pre>
 */
public final class OutboxHeaders {
  /** The outbox id; JetStream drops a second message with the same id inside its window. */
  public static final String MSG_ID = "Nats-Msg-Id";

  public static final String AGGREGATE_TYPE = "Outbox-Aggregate-Type";
  public static final String AGGREGATE_ID = "Outbox-Aggregate-Id";
  public static final String EVENT_TYPE = "Outbox-Event-Type";

  /** Commit time of the source transaction, epoch microseconds, set by the relay. */
  public static final String COMMIT_TIME = "Outbox-Commit-Us";

  /** The payload's media type; {@code application/json} unless the writer said otherwise. */
  public static final String CONTENT_TYPE = "Content-Type";

  /** W3C trace context, carried through when the writer sets it. */
  public static final String TRACEPARENT = "traceparent";

  /** On dead-letter messages: why the message was dead-lettered. */
  public static final String ERROR = "Outbox-Error";

  /** On dead-letter messages: the exception class, or the relay's reason code. */
  public static final String ERROR_KIND = "Outbox-Error-Kind";

  /** On dead-letter messages: the subject the message was (or would have been) published on. */
  public static final String ORIGINAL_SUBJECT = "Outbox-Original-Subject";

  /** On dead-letter messages: the consumer that gave up, or {@code relay}. */
  public static final String DEAD_LETTERED_BY = "Outbox-Dead-Lettered-By";

  /** On dead-letter messages: how many deliveries were tried. */
  public static final String DELIVERIES = "Outbox-Deliveries";

  /** On dead-letter messages: the size in bytes of a payload that was too large to publish. */
  public static final String PAYLOAD_SIZE = "Outbox-Payload-Size";

  private OutboxHeaders() {}
}
