package io.outboxkit.relay;

import io.nats.client.impl.Headers;

/**
 * One message to publish: an outbox row, or a dead-letter record standing in for one.
 *
 * @param id the outbox id, also the {@code Nats-Msg-Id} (dead letters use {@code dlq-<id>})
 * @param subject where it goes
 * @param headers NATS headers, {@code Nats-Msg-Id} included
 * @param payload the body, never re-serialized
 * @param commitMicros commit time of the source transaction, epoch microseconds (0 if unknown)
 * @param replayLsn the WAL position a replay of this row starts from ({@code Outbox-Replay-Lsn})
 * @param deadLetterKind for a dead-letter record: the reason code (metric tag); else null
 * @param deadLetterReason for a dead-letter record: the reason in words; else null
 */
record OutboundMessage(
    String id,
    String subject,
    Headers headers,
    byte[] payload,
    long commitMicros,
    long replayLsn,
    String deadLetterKind,
    String deadLetterReason) {

  boolean isDeadLetter() {
    return deadLetterKind != null;
  }

  /** Bytes the server counts against {@code max_payload}: headers and body. */
  long size() {
    return (long) payload.length + headers.serializedLength();
  }
}
