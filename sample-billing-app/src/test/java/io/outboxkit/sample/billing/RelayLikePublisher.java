package io.outboxkit.sample.billing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.nats.client.JetStream;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.nats.client.impl.NatsMessage;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.UuidV7;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * Test helper: publishes events to JetStream the way the relay does (subject {@code
 * <prefix>.<aggregate_type>.<event_type>}, the outbox headers, the JSON payload as the body), so
 * the billing service can be tested before and apart from the relay. The end-to-end test uses the
 * real relay.
 */
final class RelayLikePublisher {
  static final ObjectMapper JSON =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

  /** One published event, kept so that a test can publish it again. */
  record Published(String id, String subject, Headers headers, byte[] body, Instant committedAt) {}

  private final JetStream js;
  private final String prefix;

  RelayLikePublisher(JetStream js, String prefix) {
    this.js = js;
    this.prefix = prefix;
  }

  Published publish(String aggregateId, String eventType, Object payload) throws Exception {
    String id = UuidV7.next().toString();
    Instant committedAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
    Headers headers = new Headers();
    headers.put(OutboxHeaders.MSG_ID, id);
    headers.put(OutboxHeaders.AGGREGATE_TYPE, "meter");
    headers.put(OutboxHeaders.AGGREGATE_ID, aggregateId);
    headers.put(OutboxHeaders.EVENT_TYPE, eventType);
    long micros = ChronoUnit.MICROS.between(Instant.EPOCH, committedAt);
    headers.put(OutboxHeaders.COMMIT_TIME, Long.toString(micros));
    Published p =
        new Published(
            id,
            prefix + ".meter." + eventType,
            headers,
            JSON.writeValueAsBytes(payload),
            committedAt);
    PublishAck ack = republish(p);
    if (ack.isDuplicate()) {
      throw new IllegalStateException("fresh id " + id + " taken for a duplicate");
    }
    return p;
  }

  /** Publishes {@code p} again with the same {@code Nats-Msg-Id}. */
  PublishAck republish(Published p) throws Exception {
    return js.publish(
        NatsMessage.builder().subject(p.subject()).headers(p.headers()).data(p.body()).build());
  }
}
