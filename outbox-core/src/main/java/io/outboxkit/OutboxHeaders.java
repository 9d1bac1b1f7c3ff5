package io.outboxkit;

/**
 * NATS header names of the outboxkit contract between the relay and consumers. Values that are not
 * plain printable ASCII travel encoded by {@link HeaderValues}; {@code OutboxConsumer} decodes
 * them.
 *
 * <pre>{@code
 * String type = HeaderValues.decode(message.getHeaders().getFirst(OutboxHeaders.EVENT_TYPE));
 * }</pre>
 *
 * <p>Header names beginning with {@code Nats-} or {@code Outbox-} (in any letter case) are
 * reserved: the writer refuses them in an event's headers and the relay dead-letters a row that has
 * one, so that application data can never steer JetStream ({@code Nats-Expected-*}, {@code
 * Nats-Rollup}, {@code Nats-TTL}) or impersonate the relay.
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

  /** On dead-letter messages: the id of the outbox row the record stands in for. */
  public static final String OUTBOX_ID = "Outbox-Id";

  /**
   * Set by the relay: the WAL position (as {@code X/Y}) the relay resumes from to replay this
   * event. The relay uses it to find what it stored before a restart; consumers may ignore it.
   */
  public static final String REPLAY_LSN = "Outbox-Replay-Lsn";

  /**
   * Whether {@code name} is reserved for NATS and the relay: it begins with {@code Nats-} or {@code
   * Outbox-}, in any letter case.
   */
  public static boolean isReserved(String name) {
    return name.regionMatches(true, 0, "Nats-", 0, 5)
        || name.regionMatches(true, 0, "Outbox-", 0, 7);
  }

  private OutboxHeaders() {}
}
