package io.outboxkit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * An event to write to the outbox. The aggregate type and event type route it (the relay's default
 * subject is {@code outbox.<aggregate_type>.<event_type>}); events of one aggregate id keep their
 * commit order.
 *
 * <pre>{@code
 * OutboxEvent event =
 *     OutboxEvent.of("meter", "m-42", "ReadingRecorded", new ReadingRecorded("m-42", 1.25))
 *         .withHeader("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
 * }</pre>
 *
 * @param aggregateType kind of entity the event is about, 1 to 255 characters
 * @param aggregateId id of that entity, 1 to 255 characters
 * @param eventType what happened, 1 to 255 characters
 * @param payload the body
 * @param headers small string map carried as NATS headers (trace context, correlation ids)
 */
public record OutboxEvent(
    String aggregateType,
    String aggregateId,
    String eventType,
    Payload payload,
    Map<String, String> headers) {

  /** The longest aggregate type, aggregate id and event type accepted, in characters. */
  public static final int MAX_NAME_LENGTH = 255;

  public OutboxEvent {
    requireName("aggregateType", aggregateType);
    requireName("aggregateId", aggregateId);
    requireName("eventType", eventType);
    Objects.requireNonNull(payload, "payload");
    headers = headers == null ? Map.of() : Map.copyOf(headers);
    headers.forEach(OutboxEvent::requireHeader);
  }

  /** An event whose payload object is serialized to JSON. */
  public static OutboxEvent of(
      String aggregateType, String aggregateId, String eventType, Object payload) {
    return new OutboxEvent(
        aggregateType,
        aggregateId,
        eventType,
        payload instanceof Payload p ? p : Payload.json(payload),
        Map.of());
  }

  /** A copy with one more header. */
  public OutboxEvent withHeader(String name, String value) {
    Map<String, String> copy = new LinkedHashMap<>(headers);
    copy.put(name, value);
    return new OutboxEvent(aggregateType, aggregateId, eventType, payload, copy);
  }

  private static void requireName(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw new OutboxException(field + " is empty: every outbox event needs a " + field);
    }
    if (value.length() > MAX_NAME_LENGTH) {
      throw new OutboxException(
          field
              + " is "
              + value.length()
              + " characters long; the limit is "
              + MAX_NAME_LENGTH
              + ": use a shorter "
              + field);
    }
  }

  private static void requireHeader(String name, String value) {
    if (name == null || name.isEmpty()) {
      throw new OutboxException("header name is empty: give every header a name");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c <= ' ' || c >= 127 || c == ':') {
        throw new OutboxException(
            "header name '"
                + name
                + "' has a character NATS does not allow (space, ':', control or non-ASCII):"
                + " use letters, digits and '-'");
      }
    }
    if (OutboxHeaders.isReserved(name)) {
      throw new OutboxException(
          "header name '"
              + name
              + "' is reserved: names beginning with Nats- steer JetStream and Outbox- names are"
              + " set by the relay; use another name, e.g. X-"
              + name);
    }
    if (value == null) {
      throw new OutboxException("header '" + name + "' has no value: give it one or leave it out");
    }
  }
}
