package io.outboxkit.relay;

import io.nats.client.impl.Headers;
import io.outboxkit.HeaderValues;
import io.outboxkit.OutboxHeaders;
import java.util.List;
import java.util.Set;

/**
 * Dead-letter records: what the relay publishes to its dead-letter subject instead of a row that
 * cannot be published as it is. They carry the reason ({@code Outbox-Error}, {@code
 * Outbox-Error-Kind}), the row's id ({@code Outbox-Id}), its routing headers and, when they fit,
 * its own headers and payload. A dead letter always fits the size limit it is built for, so it can
 * never stop the pipeline itself.
 */
final class DeadLetters {
  /** The longest {@code Outbox-Error} value on the wire, in characters. */
  static final int MAX_ERROR_LENGTH = 1000;

  /** Headers kept when a dead letter must shrink: what identifies and routes the row. */
  private static final Set<String> ROUTING =
      Set.of(
          OutboxHeaders.AGGREGATE_TYPE,
          OutboxHeaders.AGGREGATE_ID,
          OutboxHeaders.EVENT_TYPE,
          OutboxHeaders.COMMIT_TIME,
          OutboxHeaders.REPLAY_LSN);

  private final String subject;

  DeadLetters(String subject) {
    this.subject = subject;
  }

  String subject() {
    return subject;
  }

  /**
   * A dead letter for a message that cannot be published as it is; carries the message's headers
   * (all of them when they fit, else its routing headers) and its payload when it fits.
   */
  OutboundMessage of(OutboundMessage m, String kind, String reason, long limit) {
    return build(
        m.id(),
        m.subject(),
        m.headers(),
        kind,
        reason,
        m.payload(),
        m.commitMicros(),
        m.replayLsn(),
        limit);
  }

  /**
   * A dead letter for a row the converter refused: {@code carried} holds what could be read of it
   * (routing headers; row headers only when they are valid).
   */
  OutboundMessage of(
      String id,
      String originalSubject,
      Headers carried,
      String kind,
      String reason,
      byte[] payload,
      long commitMicros,
      long replayLsn) {
    return build(
        id,
        originalSubject,
        carried,
        kind,
        reason,
        payload,
        commitMicros,
        replayLsn,
        Long.MAX_VALUE);
  }

  /** The same dead letter made to fit {@code limit}: body, then row headers, then routing go. */
  OutboundMessage fit(OutboundMessage dlq, long limit) {
    if (dlq.size() <= limit) {
      return dlq;
    }
    return build(
        dlq.id(),
        dlq.headers().getFirst(OutboxHeaders.ORIGINAL_SUBJECT),
        dlq.headers(),
        dlq.deadLetterKind(),
        dlq.deadLetterReason(),
        dlq.payload(),
        dlq.commitMicros(),
        dlq.replayLsn(),
        limit);
  }

  private OutboundMessage build(
      String id,
      String originalSubject,
      Headers carried,
      String kind,
      String reason,
      byte[] payload,
      long commitMicros,
      long replayLsn,
      long limit) {
    byte[] body = payload == null ? new byte[0] : payload;
    OutboundMessage m = null;
    for (int attempt = 0; attempt < 4; attempt++) {
      Headers h = new Headers();
      for (String name : carried.keySet()) {
        if (name.equals(OutboxHeaders.MSG_ID) || isDeadLetterHeader(name)) {
          continue;
        }
        boolean routing = ROUTING.contains(name);
        if (attempt == 0
            || (attempt <= 2 && routing)
            || (attempt == 3 && name.equals(OutboxHeaders.REPLAY_LSN))) {
          List<String> values = carried.get(name);
          h.add(name, values);
        }
      }
      h.put(OutboxHeaders.MSG_ID, "dlq-" + id);
      h.put(OutboxHeaders.OUTBOX_ID, id);
      h.put(
          OutboxHeaders.ERROR,
          HeaderValues.encodeAtMost(reason, attempt < 2 ? MAX_ERROR_LENGTH : MAX_ERROR_LENGTH / 4));
      h.put(OutboxHeaders.ERROR_KIND, kind);
      h.put(OutboxHeaders.DEAD_LETTERED_BY, "relay");
      h.put(OutboxHeaders.PAYLOAD_SIZE, Integer.toString(payload == null ? 0 : payload.length));
      if (originalSubject != null && attempt < 2) {
        h.put(OutboxHeaders.ORIGINAL_SUBJECT, originalSubject);
      }
      byte[] b =
          attempt == 0 && (long) body.length + h.serializedLength() <= limit ? body : new byte[0];
      m = new OutboundMessage(id, subject, h, b, commitMicros, replayLsn, kind, reason);
      if (m.size() <= limit) {
        return m;
      }
    }
    return m; // a limit below a few hundred bytes: the server refuses it, and says so
  }

  private static boolean isDeadLetterHeader(String name) {
    return name.equals(OutboxHeaders.OUTBOX_ID)
        || name.equals(OutboxHeaders.ERROR)
        || name.equals(OutboxHeaders.ERROR_KIND)
        || name.equals(OutboxHeaders.DEAD_LETTERED_BY)
        || name.equals(OutboxHeaders.PAYLOAD_SIZE)
        || name.equals(OutboxHeaders.ORIGINAL_SUBJECT);
  }
}
