package io.outboxkit;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The envelope of the WAL-message outbox mode: one or more events in the content of one
 * transactional logical decoding message ({@code pg_logical_emit_message(true, prefix, envelope)}).
 * The relay decodes it; writers in other languages build it with the SQL function {@code
 * outboxkit_emit(...)} that the outbox migration creates.
 *
 * <p>Version 1, all integers big-endian: the bytes {@code O B X 1}, an int32 event count, then per
 * event: the id (16 bytes, the UUID's two longs), aggregate type, aggregate id, event type and the
 * headers as a JSON object (each an int32 byte length and UTF-8 bytes; headers length 0 = none),
 * and the payload (an int32 length and the bytes).
 *
 * <pre>{@code
 * byte[] content = OutboxEnvelope.encode(List.of(new OutboxEnvelope.Entry(
 *     UuidV7.next(), "meter", "m-42", "ReadingRecorded", null, "{\"kwh\":1.25}".getBytes(UTF_8))));
 * List<OutboxEnvelope.Entry> events = OutboxEnvelope.decode(content);
 * }</pre>
 */
public final class OutboxEnvelope {
  private static final byte[] MAGIC = {'O', 'B', 'X', '1'};

  /**
   * One event of an envelope.
   *
   * @param headersJson a JSON object of header values, or null
   */
  public record Entry(
      UUID id,
      String aggregateType,
      String aggregateId,
      String eventType,
      String headersJson,
      byte[] payload) {}

  private OutboxEnvelope() {}

  public static byte[] encode(List<Entry> events) {
    List<byte[]> parts = new ArrayList<>(events.size() * 4);
    int size = MAGIC.length + 4;
    for (Entry e : events) {
      for (String s : new String[] {e.aggregateType(), e.aggregateId(), e.eventType()}) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        parts.add(b);
        size += 4 + b.length;
      }
      byte[] h =
          e.headersJson() == null ? new byte[0] : e.headersJson().getBytes(StandardCharsets.UTF_8);
      parts.add(h);
      size += 16 + 4 + h.length + 4 + e.payload().length;
    }
    ByteBuffer buf = ByteBuffer.allocate(size);
    buf.put(MAGIC).putInt(events.size());
    int p = 0;
    for (Entry e : events) {
      buf.putLong(e.id().getMostSignificantBits()).putLong(e.id().getLeastSignificantBits());
      for (int i = 0; i < 4; i++) {
        byte[] b = parts.get(p++);
        buf.putInt(b.length).put(b);
      }
      buf.putInt(e.payload().length).put(e.payload());
    }
    return buf.array();
  }

  /**
   * The events of an envelope.
   *
   * @throws OutboxException when the bytes are not a version-1 envelope
   */
  public static List<Entry> decode(byte[] content) {
    try {
      ByteBuffer buf = ByteBuffer.wrap(content);
      byte[] magic = new byte[MAGIC.length];
      buf.get(magic);
      if (!java.util.Arrays.equals(magic, MAGIC)) {
        throw new OutboxException(
            "not an outboxkit envelope (it must begin with OBX1): write it with Outbox in WAL"
                + " message mode or the SQL function outboxkit_emit");
      }
      int count = buf.getInt();
      if (count < 0 || count > content.length / 36) {
        throw new OutboxException("outboxkit envelope claims " + count + " events");
      }
      List<Entry> out = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        UUID id = new UUID(buf.getLong(), buf.getLong());
        String type = text(buf);
        String aggregateId = text(buf);
        String eventType = text(buf);
        String headers = text(buf);
        out.add(
            new Entry(
                id, type, aggregateId, eventType, headers.isEmpty() ? null : headers, bytes(buf)));
      }
      if (buf.hasRemaining()) {
        throw new OutboxException(
            "outboxkit envelope has " + buf.remaining() + " bytes after its last event");
      }
      return out;
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new OutboxException("outboxkit envelope is truncated or malformed: " + e, e);
    }
  }

  private static byte[] bytes(ByteBuffer buf) {
    int n = buf.getInt();
    if (n < 0 || n > buf.remaining()) {
      throw new IllegalArgumentException(
          "length " + n + " with " + buf.remaining() + " bytes left");
    }
    byte[] b = new byte[n];
    buf.get(b);
    return b;
  }

  private static String text(ByteBuffer buf) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes(buf)))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("text that is not UTF-8", e);
    }
  }
}
