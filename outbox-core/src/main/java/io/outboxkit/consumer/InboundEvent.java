package io.outboxkit.consumer;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.outboxkit.OutboxException;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.internal.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One outbox event as a consumer receives it from JetStream: the routing fields and headers set by
 * the relay, the payload bytes as the writer stored them, and where and when the message was
 * delivered.
 *
 * <pre>{@code
 * EventHandler handler = (handle, event) -> {
 *   if (event.eventType().equals("ReadingRecorded")) {
 *     ReadingRecorded r = event.payloadAs(ReadingRecorded.class);
 *     handle.execute("INSERT INTO grid_load(meter_id, kwh) VALUES (?, ?)", r.meterId(), r.kwh());
 *   }
 *   String trace = event.headers().get(OutboxHeaders.TRACEPARENT); // null when absent
 * };
 * }</pre>
 *
 * @param id the outbox id, from the {@code Nats-Msg-Id} header; also the key in the inbox table
 *     <p>Every header value is the original text as the writer stored it: the relay encodes values
 *     that a NATS header cannot carry ({@link io.outboxkit.HeaderValues}), the consumer decodes
 *     them.
 * @param aggregateType from {@code Outbox-Aggregate-Type}, decoded; {@code null} when the message
 *     lacks it
 * @param aggregateId from {@code Outbox-Aggregate-Id}, decoded; {@code null} when the message lacks
 *     it
 * @param eventType from {@code Outbox-Event-Type}, decoded; {@code null} when the message lacks it
 * @param headers every header of the message (the first value of each, decoded), including the ones
 *     above and the writer's own ({@code traceparent}, {@code Content-Type}, ...); unmodifiable
 * @param payload the body, byte for byte as written to the outbox; do not modify it
 * @param metadata where and when the message was delivered
 */
public record InboundEvent(
    String id,
    String aggregateType,
    String aggregateId,
    String eventType,
    Map<String, String> headers,
    byte[] payload,
    Metadata metadata) {

  public InboundEvent {
    Objects.requireNonNull(id, "id");
    headers = headers == null ? Map.of() : Map.copyOf(headers);
    payload = payload == null ? new byte[0] : payload;
    Objects.requireNonNull(metadata, "metadata");
  }

  /**
   * The JSON payload read as {@code type} with the library's default mapper (Java time module,
   * unknown properties ignored), the same defaults the {@link io.outboxkit.Outbox} writes with.
   *
   * @throws OutboxException when the payload is not JSON that fits {@code type}
   */
  public <T> T payloadAs(Class<T> type) {
    return payloadAs(type, Json.defaultMapper());
  }

  /**
   * The JSON payload read as {@code type} with your mapper.
   *
   * @throws OutboxException when the payload is not JSON that fits {@code type}
   */
  public <T> T payloadAs(Class<T> type, ObjectMapper mapper) {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(mapper, "mapper");
    try {
      return mapper.readValue(payload, type);
    } catch (IOException e) {
      throw new OutboxException(
          "payload of event "
              + id
              + " ("
              + eventType
              + ", Content-Type "
              + headers.getOrDefault(OutboxHeaders.CONTENT_TYPE, "application/json")
              + ") cannot be read as "
              + type.getName()
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** The payload decoded as UTF-8 text. */
  public String payloadAsString() {
    return new String(payload, StandardCharsets.UTF_8);
  }

  /** Leaves the payload out (payloads may hold personal data); shows its size instead. */
  @Override
  public String toString() {
    return "InboundEvent[id="
        + id
        + ", aggregateType="
        + aggregateType
        + ", aggregateId="
        + aggregateId
        + ", eventType="
        + eventType
        + ", payload="
        + payload.length
        + " bytes, metadata="
        + metadata
        + "]";
  }

  /**
   * Delivery facts of the message.
   *
   * <pre>{@code
   * if (event.metadata().deliveries() > 1) {
   *   log.info("redelivery {} of {}", event.metadata().deliveries(), event.id());
   * }
   * }</pre>
   *
   * @param subject the subject the message was published on, e.g. {@code
   *     outbox.meter.ReadingRecorded}
   * @param stream the JetStream stream holding it
   * @param streamSequence its sequence number in that stream
   * @param deliveries how many times the server has delivered it, this delivery included (1 on the
   *     first)
   * @param publishedAt when the stream stored it
   * @param committedAt when the source transaction committed ({@code Outbox-Commit-Us}); {@code
   *     null} when the message does not carry it
   */
  public record Metadata(
      String subject,
      String stream,
      long streamSequence,
      long deliveries,
      Instant publishedAt,
      Instant committedAt) {}
}
