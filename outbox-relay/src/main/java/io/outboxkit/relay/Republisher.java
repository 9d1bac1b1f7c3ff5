package io.outboxkit.relay;

import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.PublishOptions;
import io.nats.client.api.PublishAck;
import java.io.IOException;

/**
 * Publishes messages made by the relay's rules (rows converted again, dead letters redriven) to the
 * relay's stream, one at a time and acknowledged, at most {@code rate} per second. A message too
 * large for the server becomes its dead letter, as in the relay.
 */
final class Republisher {
  private final CliSession session;
  private final double rate;
  private final PublishOptions options;
  private JetStream js;
  private long next;

  /**
   * @param rate messages per second, 0 for no limit
   */
  Republisher(CliSession session, double rate) {
    this.session = session;
    this.rate = rate;
    this.options = PublishOptions.builder().expectedStream(session.stream()).build();
  }

  /** What was stored: the message (or its dead letter) and JetStream's acknowledgement. */
  record Sent(OutboundMessage message, PublishAck ack) {}

  Sent publish(OutboundMessage m) {
    pace();
    long limit = session.nats().getMaxPayload();
    if (m.size() > limit && !m.isDeadLetter()) {
      m =
          session
              .deadLetters()
              .of(
                  m,
                  "payload_too_large",
                  "the message is "
                      + m.size()
                      + " bytes with headers, over the server's max_payload of "
                      + limit
                      + " bytes",
                  limit);
    }
    try {
      if (js == null) {
        js = session.nats().jetStream();
      }
      PublishAck ack = js.publish(m.subject(), m.headers(), m.payload(), options);
      return new Sent(m, ack);
    } catch (IOException | JetStreamApiException e) {
      throw RelayException.retryable(
          "publishing " + m.id() + " to " + m.subject() + " failed: " + e.getMessage(), e);
    }
  }

  private void pace() {
    if (rate <= 0) {
      return;
    }
    long now = System.nanoTime();
    long gap = (long) (1_000_000_000L / rate);
    if (next == 0 || now > next + gap) {
      next = now;
    }
    long wait = next - now;
    next += gap;
    if (wait > 0) {
      try {
        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw RelayException.retryable("interrupted", e);
      }
    }
  }
}
