package io.outboxkit.consumer;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.outboxkit.HeaderValues;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.UuidV7;
import io.outboxkit.testing.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Publishes messages the way the outboxkit relay does, so consumer tests need no relay: subject
 * {@code <base>.<aggregate_type>.<event_type>}, {@code Nats-Msg-Id} = outbox id, the {@code
 * Outbox-*} headers, the row's own headers, every header value encoded by {@link HeaderValues}, the
 * payload bytes unchanged.
 */
final class TestRelay {
  private final JetStream js;
  private final String subjectBase;

  /** One outbox row as the relay would read it from the WAL. */
  record Event(
      String id,
      String aggregateType,
      String aggregateId,
      String eventType,
      byte[] payload,
      Map<String, String> headers,
      Instant committedAt) {

    Event withHeader(String name, String value) {
      Map<String, String> copy = new LinkedHashMap<>(headers);
      copy.put(name, value);
      return new Event(id, aggregateType, aggregateId, eventType, payload, copy, committedAt);
    }
  }

  TestRelay(Connection nats, String subjectBase) {
    try {
      this.js = nats.jetStream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.subjectBase = subjectBase;
  }

  /** A {@code meter}/{@code ReadingRecorded} event with a fresh UUIDv7 id, committed now. */
  static Event event(String aggregateId, String json) {
    return new Event(
        UuidV7.next().toString(),
        "meter",
        aggregateId,
        "ReadingRecorded",
        json.getBytes(StandardCharsets.UTF_8),
        Map.of(),
        Instant.now());
  }

  String subject(Event event) {
    return subjectBase + "." + token(event.aggregateType()) + "." + token(event.eventType());
  }

  /**
   * A type as a subject token: as it is when it is one, else a stand-in (tests route by stream).
   */
  private static String token(String type) {
    return type.matches("[A-Za-z0-9_-]+") ? type : "_" + Integer.toHexString(type.hashCode());
  }

  PublishAck publish(Event event) {
    Headers headers = headers(event);
    headers.put(OutboxHeaders.MSG_ID, event.id());
    return send(subject(event), headers, event.payload());
  }

  /** As a foreign publisher might: the same message, but without {@code Nats-Msg-Id}. */
  PublishAck publishWithoutId(Event event) {
    return send(subject(event), headers(event), event.payload());
  }

  /**
   * Publishes {@code event} again once the stream's duplicate window has passed, so the stream
   * holds a second message with the same id (what a relay replay after the window produces).
   */
  PublishAck publishAgainAfterDuplicateWindow(Event event) {
    PublishAck[] ack = new PublishAck[1];
    Ports.await(
        "the duplicate window to pass for " + event.id(),
        Duration.ofSeconds(30),
        () -> !(ack[0] = publish(event)).isDuplicate());
    return ack[0];
  }

  /** The relay's headers: every value that is not plain ASCII encoded by {@link HeaderValues}. */
  private static Headers headers(Event event) {
    Headers headers = new Headers();
    headers.put(OutboxHeaders.AGGREGATE_TYPE, HeaderValues.encode(event.aggregateType()));
    headers.put(OutboxHeaders.AGGREGATE_ID, HeaderValues.encode(event.aggregateId()));
    headers.put(OutboxHeaders.EVENT_TYPE, HeaderValues.encode(event.eventType()));
    Instant t = event.committedAt();
    headers.put(
        OutboxHeaders.COMMIT_TIME,
        Long.toString(t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000));
    event.headers().forEach((name, value) -> headers.put(name, HeaderValues.encode(value)));
    return headers;
  }

  private PublishAck send(String subject, Headers headers, byte[] body) {
    try {
      return js.publish(subject, headers, body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (JetStreamApiException e) {
      throw new IllegalStateException(e);
    }
  }
}
