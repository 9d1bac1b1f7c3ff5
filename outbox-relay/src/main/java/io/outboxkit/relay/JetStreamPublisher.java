package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes batches to JetStream and returns only when every message of the batch is acknowledged.
 *
 * <p>Order: messages go out in batch order on one connection, with up to {@code max-in-flight}
 * unacknowledged. The server stores what one connection sends in order, so after a failure the
 * stored messages are a prefix; the relay stops sending at the first failure, waits for the rest,
 * and resends the unacknowledged ones in order on a connection it opens anew (the old one is never
 * reused after it broke: no message of a new connection can overtake one lost on the old). Resent
 * messages keep their {@code Nats-Msg-Id}, so JetStream drops the ones it already has.
 */
final class JetStreamPublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JetStreamPublisher.class);

  private final RelaySettings settings;
  private final RelayConfig.Publish config;
  private final RelayMetrics metrics;
  private volatile Connection connection;
  private volatile AckInbox acks;
  private volatile boolean closed;

  JetStreamPublisher(RelaySettings settings, RelayMetrics metrics) {
    this.settings = settings;
    this.config = settings.raw().publish();
    this.metrics = metrics;
  }

  /** Connected and not closed. */
  boolean isConnected() {
    Connection c = connection;
    return c != null && c.getStatus() == Connection.Status.CONNECTED;
  }

  String status() {
    Connection c = connection;
    return c == null ? "NOT_CONNECTED" : c.getStatus().name();
  }

  /** The server's max_payload, or 1 MiB before the first connection. */
  long maxPayload() {
    Connection c = connection;
    return c == null ? 1024 * 1024 : c.getMaxPayload();
  }

  /**
   * Connects if not connected. Never reconnects a broken connection: each connection is one ordered
   * channel, replaced after a failure.
   *
   * @throws RelayException retryable when the servers cannot be reached
   */
  synchronized Connection connect() {
    if (isConnected()) {
      return connection;
    }
    dropConnection();
    RelayConfig.Nats n = settings.raw().nats();
    Options.Builder b =
        new Options.Builder()
            .servers(n.servers().toArray(String[]::new))
            .connectionName("outboxkit-relay-" + settings.slot())
            .connectionTimeout(n.connectTimeout())
            .noReconnect()
            .reconnectBufferSize(0)
            .maxMessagesInOutgoingQueue(Math.max(10_000, config.maxInFlight() * 2))
            .bufferSize(256 * 1024)
            .errorListener(new QuietErrorListener());
    if (n.user() != null && !n.user().isBlank()) {
      b.userInfo(n.user(), n.password() == null ? "" : n.password());
    }
    if (n.token() != null && !n.token().isBlank()) {
      b.token(n.token().toCharArray());
    }
    if (n.credentialsFile() != null && !n.credentialsFile().isBlank()) {
      b.authHandler(Nats.credentials(n.credentialsFile()));
    }
    if (n.tls()) {
      if (n.truststore() != null) {
        b.truststorePath(n.truststore());
        if (n.truststorePassword() != null) {
          b.truststorePassword(n.truststorePassword().toCharArray());
        }
      }
      if (n.keystore() != null) {
        b.keystorePath(n.keystore());
        if (n.keystorePassword() != null) {
          b.keystorePassword(n.keystorePassword().toCharArray());
        }
      }
      if (n.truststore() == null && n.keystore() == null) {
        try {
          b.secure(); // the JVM's default trust store
        } catch (java.security.NoSuchAlgorithmException e) {
          throw RelayException.fatal("TLS is not available in this JVM: " + e.getMessage());
        }
      }
    }
    try {
      Connection c = Nats.connect(b.build());
      connection = c;
      acks = new AckInbox(c, metrics);
      log.info(
          "connected to NATS {} (max_payload {} bytes)", c.getConnectedUrl(), c.getMaxPayload());
      return c;
    } catch (IOException | RuntimeException e) {
      throw RelayException.retryable(
          "cannot connect to NATS " + n.servers() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw RelayException.retryable("interrupted while connecting to NATS", e);
    }
  }

  /**
   * Checks the stream, or creates it when it is missing and {@code stream.create} is on. An
   * existing stream is never changed: when its subjects do not cover the relay's subjects the relay
   * stops with the fix.
   */
  void ensureStream() {
    RelayConfig.Stream s = settings.raw().stream();
    Connection c = connect();
    try {
      JetStreamManagement jsm = c.jetStreamManagement();
      StreamInfo info;
      try {
        info = jsm.getStreamInfo(s.name());
      } catch (JetStreamApiException e) {
        if (e.getApiErrorCode() != 10059) {
          throw e;
        }
        if (!s.create()) {
          throw RelayException.fatal(
              "JetStream stream "
                  + s.name()
                  + " does not exist and outboxkit.relay.stream.create is false: create it with"
                  + " subjects covering "
                  + settings.subjects().wildcard()
                  + " and "
                  + settings.deadLetterSubject()
                  + ", or set outboxkit.relay.stream.create=true");
        }
        info =
            jsm.addStream(
                StreamConfiguration.builder()
                    .name(s.name())
                    .subjects(s.subjects())
                    .storageType(
                        "memory".equals(s.storage()) ? StorageType.Memory : StorageType.File)
                    .replicas(s.replicas())
                    .duplicateWindow(s.duplicateWindow())
                    .description("outbox events published by outboxkit-relay")
                    .build());
        log.info(
            "created JetStream stream {} (subjects {}, {} storage, {} replicas, duplicate window {})",
            s.name(),
            s.subjects(),
            s.storage(),
            s.replicas(),
            s.duplicateWindow());
      }
      List<String> subjects = info.getConfiguration().getSubjects();
      checkCovered(
          s.name(), subjects, settings.subjects().wildcard(), "outboxkit.relay.subject-template");
      checkCovered(
          s.name(), subjects, settings.deadLetterSubject(), "outboxkit.relay.dead-letter-subject");
    } catch (IOException e) {
      throw RelayException.retryable("checking JetStream stream " + s.name() + " failed: " + e, e);
    } catch (JetStreamApiException e) {
      throw RelayException.retryable(
          "checking JetStream stream "
              + s.name()
              + " failed: "
              + e.getMessage()
              + " (is JetStream enabled on the server? start it with -js)",
          e);
    }
  }

  private static void checkCovered(
      String stream, List<String> filters, String subject, String setting) {
    for (String f : filters) {
      if (SubjectTemplate.covers(f, subject)) {
        return;
      }
    }
    throw RelayException.fatal(
        "JetStream stream "
            + stream
            + " has subjects "
            + filters
            + ", which do not cover "
            + subject
            + " (from "
            + setting
            + "): add a subject such as "
            + subject.substring(
                0, subject.indexOf('.') < 0 ? subject.length() : subject.indexOf('.'))
            + ".> to the stream, or change "
            + setting);
  }

  /**
   * The batch was converted for another {@code max_payload} than the server's, now that the relay
   * (re)connected: it must be converted again, so that what is too large is dead-lettered.
   */
  static final class MaxPayloadChanged extends Exception {
    private static final long serialVersionUID = 1L;
    final long maxPayload;

    MaxPayloadChanged(long maxPayload) {
      super("the server's max_payload is now " + maxPayload + " bytes", null, false, false);
      this.maxPayload = maxPayload;
    }
  }

  /**
   * Connects (retrying with backoff until NATS answers, or the relay stops) and returns the
   * server's {@code max_payload}.
   */
  long connectedMaxPayload() throws InterruptedException {
    long backoff = config.retryBackoff().toNanos();
    while (true) {
      if (closed || Thread.currentThread().isInterrupted()) {
        throw new InterruptedException("relay stopping");
      }
      try {
        return connect().getMaxPayload();
      } catch (RelayException e) {
        metrics.retry();
        log.warn("{}; retrying in {} ms", e.getMessage(), TimeUnit.NANOSECONDS.toMillis(backoff));
        TimeUnit.NANOSECONDS.sleep(backoff);
        backoff = Math.min(backoff * 2, config.retryBackoffMax().toNanos());
      }
    }
  }

  /**
   * Publishes every message and returns when all are acknowledged; retries failed or timed-out ones
   * with backoff, forever, until {@link #close()}.
   *
   * @throws InterruptedException when the relay is stopping; then nothing is known to be acked
   */
  void publishAll(List<OutboundMessage> batch, long convertedFor)
      throws InterruptedException, MaxPayloadChanged {
    int n = batch.size();
    boolean[] acked = new boolean[n];
    long backoff = config.retryBackoff().toNanos();
    while (true) {
      if (closed || Thread.currentThread().isInterrupted()) {
        throw new InterruptedException("relay stopping");
      }
      Throwable failure;
      try {
        long limit = connect().getMaxPayload();
        if (limit != convertedFor) {
          throw new MaxPayloadChanged(limit);
        }
        failure = attempt(batch, acked);
      } catch (RelayException e) {
        failure = e;
      }
      if (failure == null) {
        return;
      }
      metrics.retry();
      int pending = 0;
      for (boolean a : acked) {
        pending += a ? 0 : 1;
      }
      log.warn(
          "publish to JetStream failed ({}); {} of {} messages unacknowledged, retrying in {} ms",
          describe(failure),
          pending,
          n,
          TimeUnit.NANOSECONDS.toMillis(backoff));
      dropConnection();
      TimeUnit.NANOSECONDS.sleep(backoff);
      backoff = Math.min(backoff * 2, config.retryBackoffMax().toNanos());
    }
  }

  /**
   * One pass over the unacknowledged messages, in order, on one connection; returns the first
   * failure, or null. Stops sending at the first failure and waits for what is in flight.
   */
  private Throwable attempt(List<OutboundMessage> batch, boolean[] acked)
      throws InterruptedException {
    Connection c = connection;
    AckInbox inbox = acks;
    if (c == null || inbox == null) {
      return new IllegalStateException("not connected");
    }
    int window = config.maxInFlight();
    long timeout = config.ackTimeout().toNanos();
    int n = batch.size();
    inbox.begin(n);
    Throwable failure = null;
    int lastSent = -1;
    long lastSentAt = System.nanoTime();
    for (int i = 0; i < n && failure == null; i++) {
      if (acked[i]) {
        continue;
      }
      if (!inbox.awaitInFlightAtMost(window - 1, AckInbox.deadline(timeout))) {
        failure = new TimeoutException("no ack within " + config.ackTimeout().toMillis() + " ms");
        break;
      }
      if (inbox.firstError() != null) {
        failure = new IllegalStateException(inbox.firstError());
        break;
      }
      OutboundMessage m = batch.get(i);
      inbox.sending(i, m.commitMicros());
      try {
        c.publish(m.subject(), inbox.replyTo(i), m.headers(), m.payload());
      } catch (RuntimeException e) {
        inbox.notSent();
        failure = e;
        break;
      }
      lastSent = i;
      lastSentAt = System.nanoTime();
      metrics.inFlight.set(inbox.inFlight());
    }
    boolean allResolved = inbox.awaitInFlightAtMost(0, lastSentAt + timeout);
    metrics.inFlight.set(0);
    for (int i = 0; i <= lastSent; i++) {
      if (!acked[i] && inbox.state(i) == AckInbox.ACKED) {
        acked[i] = true;
      }
    }
    if (failure == null && inbox.firstError() != null) {
      failure = new IllegalStateException(inbox.firstError());
    }
    if (failure == null && !allResolved) {
      metrics.publishError("timeout");
      failure =
          new TimeoutException(
              inbox.inFlight() + " acks missing after " + config.ackTimeout().toMillis() + " ms");
    }
    if (failure == null) {
      for (boolean a : acked) {
        if (!a) {
          return new IllegalStateException("a message was not sent");
        }
      }
    }
    return failure;
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  private synchronized void dropConnection() {
    Connection c = connection;
    connection = null;
    acks = null;
    if (c != null) {
      try {
        c.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        // already broken
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    dropConnection();
  }

  Duration ackTimeout() {
    return config.ackTimeout();
  }
}
