package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.ErrorListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** NATS client errors at WARN, without the client's own stack traces for routine disconnects. */
final class QuietErrorListener implements ErrorListener {
  private static final Logger log = LoggerFactory.getLogger("io.outboxkit.relay.nats");

  @Override
  public void errorOccurred(Connection conn, String error) {
    log.warn("NATS server error: {}", error);
  }

  @Override
  public void exceptionOccurred(Connection conn, Exception exp) {
    log.warn("NATS connection problem: {}", exp.toString());
  }
}
