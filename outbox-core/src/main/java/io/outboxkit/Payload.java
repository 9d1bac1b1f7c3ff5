package io.outboxkit;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The body of an outbox event. The relay passes it to NATS byte for byte.
 *
 * <pre>{@code
 * Payload.json(new ReadingRecorded("m-1", 1.25));        // serialized by the Outbox's ObjectMapper
 * Payload.rawJson("{\"meterId\":\"m-1\",\"kwh\":1.25}"); // already JSON text
 * Payload.bytes(protobufBytes, "application/x-protobuf");
 * }</pre>
 */
public sealed interface Payload {

  /** An object that the {@link Outbox}'s Jackson {@code ObjectMapper} turns into JSON. */
  static Payload json(Object value) {
    return new Json(value);
  }

  /** JSON text, stored as its UTF-8 bytes without parsing. */
  static Payload rawJson(String json) {
    Objects.requireNonNull(json, "json");
    return new Bytes(json.getBytes(StandardCharsets.UTF_8), "application/json");
  }

  /** Opaque bytes with their media type, carried in the {@code Content-Type} header. */
  static Payload bytes(byte[] bytes, String contentType) {
    return new Bytes(bytes, contentType);
  }

  /** An object to serialize to JSON when written. */
  record Json(Object value) implements Payload {}

  /**
   * Bytes as they are.
   *
   * @param bytes the body
   * @param contentType its media type
   */
  record Bytes(byte[] bytes, String contentType) implements Payload {
    public Bytes {
      Objects.requireNonNull(bytes, "bytes");
      if (contentType == null || contentType.isBlank()) {
        throw new OutboxException(
            "payload contentType is empty: give a media type such as application/octet-stream");
      }
    }
  }
}
