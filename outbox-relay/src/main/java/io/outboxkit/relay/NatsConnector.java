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
  private volatile boolean fenced;

  NatsConnector(RelayConfig.Nats nats, String connectionName, int outgoingQueue) {
    this.nats = nats;
    this.connectionName = connectionName;
    this.outgoingQueue = outgoingQueue;
  }

  /**
   * Fences this connector's connections: every write to the socket first asks {@code leader}
   * ({@link FencedDataPort}).
   */
  void fence(java.util.function.BooleanSupplier leader) {
    FencedDataPort.register(connectionName, leader);
    fenced = true;
  }

  /**
   * A new connection.
   *
   * @throws RelayException retryable when the servers cannot be reached
   */
  Connection connect() {
    FirstError errors = new FirstError();
    Options.Builder b =
        new Options.Builder()
            .servers(nats.servers().toArray(String[]::new))
            .connectionName(connectionName)
            .connectionTimeout(nats.connectTimeout())
            .noReconnect()
            .reconnectBufferSize(0)
            .maxMessagesInOutgoingQueue(outgoingQueue)
            .bufferSize(256 * 1024)
            .errorListener(errors);
    if (fenced) {
      b.dataPortType(FencedDataPort.class.getName());
    }
    if (nats.user() != null && !nats.user().isBlank()) {
      b.userInfo(nats.user(), nats.password() == null ? "" : nats.password());
    }
    if (nats.token() != null && !nats.token().isBlank()) {
      b.token(nats.token().toCharArray());
    }
    if (nats.credentialsFile() != null && !nats.credentialsFile().isBlank()) {
      b.authHandler(Nats.credentials(nats.credentialsFile()));
    }
    if (nats.nkeySeedFile() != null && !nats.nkeySeedFile().isBlank()) {
      // No JWT: the server knows the NKey's public key (nkeys-only authentication).
      b.authHandler(Nats.credentials(null, nats.nkeySeedFile()));
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
          "connected to NATS {} (max_payload {} bytes)",
          Redact.url(c.getConnectedUrl()),
          c.getMaxPayload());
      return c;
    } catch (IOException | RuntimeException e) {
      RelayException refused = refusal(e);
      if (refused == null) {
        // jnats reports why a server refused (a TLS handshake) to the error listener only.
        Exception cause = errors.await();
        refused = cause == null ? null : refusal(cause);
      }
      if (refused != null) {
        throw refused;
      }
      throw RelayException.retryable(
          "cannot connect to NATS "
              + Redact.urls(nats.servers())
              + ": "
              + Redact.url(String.valueOf(e.getMessage())),
          null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw RelayException.retryable("interrupted while connecting to NATS", e);
    }
  }

  /**
   * Keeps the first exception jnats reports while connecting; it reports them on a thread of its
   * own, so {@link #await} waits briefly for one.
   */
  private static final class FirstError implements io.nats.client.ErrorListener {
    private final QuietErrorListener log = new QuietErrorListener();
    private final java.util.concurrent.CompletableFuture<Exception> first =
        new java.util.concurrent.CompletableFuture<>();

    @Override
    public void errorOccurred(Connection conn, String error) {
      log.errorOccurred(conn, error);
    }

    @Override
    public void exceptionOccurred(Connection conn, Exception exp) {
      first.complete(exp);
      log.exceptionOccurred(conn, exp);
    }

    Exception await() {
      try {
        return first.get(1, java.util.concurrent.TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
        return null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
  }

  /**
   * Credentials or certificates the server refused: retrying cannot help, so a fatal error naming
   * the setting. Never the server's or client's secrets: only the kind of failure.
   */
  private RelayException refusal(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
      if (m.contains("authorization violation") || m.contains("authentication")) {
        return RelayException.badSetting(
            authSetting(),
            "was refused by the NATS server (Authorization Violation)",
            "set the credentials the server expects for this user");
      }
      if (t instanceof javax.net.ssl.SSLException
          || t instanceof java.security.cert.CertificateException
          || t instanceof java.security.GeneralSecurityException) {
        return RelayException.badSetting(
            nats.keystore() == null
                ? "outboxkit.relay.nats.truststore"
                : "outboxkit.relay.nats.keystore",
            "did not make a TLS connection to NATS ("
                + t.getClass().getSimpleName()
                + ": "
                + Redact.url(String.valueOf(t.getMessage()))
                + ")",
            "give a trust store with the CA of the server's certificate (nats.truststore) and,"
                + " when the server verifies clients, a key store with the client certificate"
                + " (nats.keystore)");
      }
      if (m.contains("tls required") || m.contains("secure connection")) {
        return RelayException.badSetting(
            "outboxkit.relay.nats.tls",
            "is " + nats.tls() + ", but the server requires TLS",
            "set nats.tls=true (and nats.truststore)");
      }
    }
    return null;
  }

  private String authSetting() {
    String p = "outboxkit.relay.nats.";
    if (nats.token() != null && !nats.token().isBlank()) {
      return p + "token";
    }
    if (nats.nkeySeedFile() != null && !nats.nkeySeedFile().isBlank()) {
      return p + "nkey-seed-file";
    }
    if (nats.credentialsFile() != null && !nats.credentialsFile().isBlank()) {
      return p + "credentials-file";
    }
    if (nats.user() != null && !nats.user().isBlank()) {
      return p + "password";
    }
    return p + "user";
  }
}
