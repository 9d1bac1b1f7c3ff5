package io.outboxkit.relay;

import io.nats.client.Message;
import io.nats.client.api.MessageInfo;
import io.nats.client.impl.Headers;
import io.outboxkit.HeaderValues;
import io.outboxkit.OutboxHeaders;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A dead letter in the stream, the relay's ({@code Outbox-Dead-Lettered-By: relay}) or a
 * consumer's, with its headers decoded ({@link HeaderValues}).
 *
 * @param seq its stream sequence: how the CLI names it
 */
record DeadLetter(long seq, String subject, String time, Headers headers, byte[] data) {
  /** The headers a dead letter adds to the message it stands in for. */
  static final Set<String> ADDED =
      Set.of(
          OutboxHeaders.OUTBOX_ID,
          OutboxHeaders.ERROR,
          OutboxHeaders.ERROR_KIND,
          OutboxHeaders.DEAD_LETTERED_BY,
          OutboxHeaders.DELIVERIES,
          OutboxHeaders.PAYLOAD_SIZE,
          OutboxHeaders.ORIGINAL_SUBJECT);

  static DeadLetter of(Message m) {
    return new DeadLetter(
        m.metaData().streamSequence(),
        m.getSubject(),
        String.valueOf(m.metaData().timestamp()),
        m.getHeaders(),
        m.getData() == null ? new byte[0] : m.getData());
  }

  static DeadLetter of(MessageInfo m) {
    return new DeadLetter(
        m.getSeq(),
        m.getSubject(),
        String.valueOf(m.getTime()),
        m.getHeaders(),
        m.getData() == null ? new byte[0] : m.getData());
  }

  /** A dead letter carries who dead-lettered it. */
  boolean isDeadLetter() {
    return header(OutboxHeaders.DEAD_LETTERED_BY) != null;
  }

  boolean byRelay() {
    return "relay".equals(header(OutboxHeaders.DEAD_LETTERED_BY));
  }

  /** The value of a header, decoded; null when absent. */
  String header(String name) {
    String v = headers == null ? null : headers.getFirst(name);
    return v == null ? null : HeaderValues.decode(v);
  }

  /** Its own {@code Nats-Msg-Id}: {@code dlq-<id>} (relay) or {@code dlq-<consumer>-<id>}. */
  String ownId() {
    return headers == null ? null : headers.getFirst(OutboxHeaders.MSG_ID);
  }

  /** The outbox id of the event it stands in for, or null. */
  String eventId() {
    String id = header(OutboxHeaders.OUTBOX_ID);
    if (id != null) {
      return id;
    }
    String own = ownId();
    String prefix = "dlq-" + header(OutboxHeaders.DEAD_LETTERED_BY) + "-";
    return own != null && own.startsWith(prefix) ? own.substring(prefix.length()) : null;
  }

  String originalSubject() {
    return header(OutboxHeaders.ORIGINAL_SUBJECT);
  }

  /** The body as text when it is UTF-8, else null. */
  String text() {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(data))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** One line's worth, for {@code dlq list}. */
  Map<String, Object> summary() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("seq", seq);
    m.put("subject", subject);
    m.put("time", time);
    m.put("deadLetteredBy", header(OutboxHeaders.DEAD_LETTERED_BY));
    m.put("id", eventId());
    m.put("kind", header(OutboxHeaders.ERROR_KIND));
    m.put("reason", header(OutboxHeaders.ERROR));
    m.put("originalSubject", originalSubject());
    m.put("deliveries", header(OutboxHeaders.DELIVERIES));
    return m;
  }

  /** Everything, for {@code dlq show}. */
  Map<String, Object> detail() {
    Map<String, Object> m = summary();
    Map<String, Object> h = new LinkedHashMap<>();
    if (headers != null) {
      for (String name : headers.keySet()) {
        List<String> values = headers.get(name).stream().map(HeaderValues::decode).toList();
        h.put(name, values.size() == 1 ? values.get(0) : values);
      }
    }
    m.put("headers", h);
    m.put("payloadSize", data.length);
    String text = text();
    if (text != null) {
      m.put("payload", text);
    } else {
      m.put("payloadBase64", Base64.getEncoder().encodeToString(data));
    }
    return m;
  }
}
