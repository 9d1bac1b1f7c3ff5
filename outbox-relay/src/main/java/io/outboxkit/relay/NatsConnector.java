package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the relay's NATS connections: servers, authentication (user and password, token,
 * credentials file) and TLS. Each connection is one ordered channel and never reconnects by itself:
 * the publisher replaces a broken one, so no message of a new connection can overtake one lost on
 * the old.
 */
final class NatsConnector {
  private static final Logger log = LoggerFactory.getLogger(NatsConnector.class);

  private final RelayConfig.Nats nats;
  private final String connectionName;
  private final int outgoingQueue;

  NatsConnector(RelayConfig.Nats nats, String connectionName, int outgoingQueue) {
    this.nats = nats;
    this.connectionName = connectionName;
    this.outgoingQueue = outgoingQueue;
  }

  /**
   * A new connection.
   *
   * @throws RelayException retryable when the servers cannot be reached
   */
  Connection connect() {
    Options.Builder b =
        new Options.Builder()
            .servers(nats.servers().toArray(String[]::new))
            .connectionName(connectionName)
            .connectionTimeout(nats.connectTimeout())
            .noReconnect()
            .reconnectBufferSize(0)
            .maxMessagesInOutgoingQueue(outgoingQueue)
            .bufferSize(256 * 1024)
            .errorListener(new QuietErrorListener());
    if (nats.user() != null && !nats.user().isBlank()) {
      b.userInfo(nats.user(), nats.password() == null ? "" : nats.password());
    }
    if (nats.token() != null && !nats.token().isBlank()) {
      b.token(nats.token().toCharArray());
    }
    if (nats.credentialsFile() != null && !nats.credentialsFile().isBlank()) {
      b.authHandler(Nats.credentials(nats.credentialsFile()));
    }
    if (nats.tls()) {
      if (nats.truststore() != null) {
        b.truststorePath(nats.truststore());
        if (nats.truststorePassword() != null) {
          b.truststorePassword(nats.truststorePassword().toCharArray());
        }
      }
      if (nats.keystore() != null) {
        b.keystorePath(nats.keystore());
        if (nats.keystorePassword() != null) {
          b.keystorePassword(nats.keystorePassword().toCharArray());
        }
      }
      if (nats.truststore() == null && nats.keystore() == null) {
        try {
          b.secure(); // the JVM's default trust store
        } catch (java.security.NoSuchAlgorithmException e) {
          throw RelayException.fatal("TLS is not available in this JVM: " + e.getMessage());
        }
      }
    }
    try {
      Connection c = Nats.connect(b.build());
      log.info(
          "connected to NATS {} (max_payload {} bytes)", c.getConnectedUrl(), c.getMaxPayload());
      return c;
    } catch (IOException | RuntimeException e) {
      throw RelayException.retryable(
          "cannot connect to NATS " + nats.servers() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw RelayException.retryable("interrupted while connecting to NATS", e);
    }
  }
}
