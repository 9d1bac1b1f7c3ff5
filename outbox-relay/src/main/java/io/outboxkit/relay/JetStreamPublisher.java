package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.outboxkit.Backoff;
import io.outboxkit.OutboxException;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes batches to JetStream and returns only when every message of the batch (or the dead
 * letter standing in for it) is acknowledged.
 *
 * <p>Order: messages go out in batch order on one connection, with up to {@code max-in-flight}
 * unacknowledged. The server stores what one connection sends in order, so after a failure the
 * stored messages are a prefix; the relay stops sending at the first failure, waits for the rest,
 * and resends the unacknowledged ones in order on a connection it opens anew (the old one is never
 * reused after it broke: no message of a new connection can overtake one lost on the old).
 *
 * <p>Exactly once in the stream: before resending on a new connection, the publisher reads the
 * stream from the last sequence it knows to be confirmed and drops the messages already stored
 * there, so an outage longer than the stream's duplicate window stores nothing twice.
 *
 * <p>What belongs to one message never stops the batch: a message over the size limit (the server's
 * {@code max_payload} or the stream's {@code max_msg_size}, checked at send time) or one the stream
 * refuses for itself ({@code Nats-Expected-*}, size, TTL) is replaced by its dead letter. Only
 * transport failures (connection, timeout, no responders, stream-wide refusals) are retried, with
 * backoff, until {@link #close()}.
 */
final class JetStreamPublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JetStreamPublisher.class);

  /**
   * JetStream error codes that concern one message, not the stream: message too large (10054),
   * {@code Nats-Expected-Stream} (10060), {@code Nats-Expected-Last-Msg-Id} (10070), {@code
   * Nats-Expected-Last-Sequence} / {@code -Subject-Sequence} (10071), per-message TTL
   * (10164-10166).
   */
  private static final Set<Integer> MESSAGE_ERRORS =
      Set.of(10054, 10060, 10070, 10071, 10164, 10165, 10166);

  private final NatsConnector connector;
  private final StreamProvisioner stream;
  private final StreamTail tail;
  private final DeadLetters deadLetters;
  private final RelayConfig.Publish config;
  private final Backoff backoff;
  private final RelayMetrics metrics;
  private final RecentErrors errors;
  private volatile Connection connection;
  private volatile AckInbox acks;

  /**
   * The smallest message size limit the relay accepts: below it a dead letter (reason, kind, id,
   * routing headers, no body) might not fit, and a bad row could not be set aside.
   */
  static final long MIN_LIMIT = 4096;

  private volatile long limit = 1024 * 1024;
  private volatile String limitName = "the NATS server's max_payload";
  private volatile boolean closed;
  private volatile BooleanSupplier leader = () -> true;

  /**
   * The stream sequence up to which everything this relay sent is known to be stored; -1 unknown.
   */
  private long confirmedSeq = -1;

  JetStreamPublisher(
      NatsConnector connector,
      StreamProvisioner stream,
      StreamTail tail,
      DeadLetters deadLetters,
      RelayConfig.Publish config,
      RelayMetrics metrics,
      RecentErrors errors) {
    this.connector = connector;
    this.stream = stream;
    this.tail = tail;
    this.deadLetters = deadLetters;
    this.config = config;
    this.backoff = Backoff.of(config.retryBackoff(), config.retryBackoffMax());
    this.metrics = metrics;
    this.errors = errors;
  }

  /**
   * The fence: asked before every message is handed to the NATS client, and again by the socket
   * before the client writes anything ({@link FencedDataPort}); when it says no, nothing more is
   * sent, the connection closes and {@link #publishAll} throws {@link
   * RelayException#leadershipLost}.
   */
  void fence(BooleanSupplier leader) {
    this.leader = leader;
    connector.fence(leader); // and every write to the socket (FencedDataPort)
  }

  private RelayException notLeader() {
    return RelayException.leadershipLost(
        "this relay's lease on the slot is over (it was frozen, or cut off from PostgreSQL for"
            + " longer than standby.lease-timeout): it publishes nothing more");
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

  /**
   * Connects if not connected, checks (or creates) the stream and takes its limits. Never
   * reconnects a broken connection: each connection is one ordered channel, replaced after a
   * failure.
   *
   * @throws RelayException retryable when NATS or JetStream does not answer, fatal for a stream
   *     that cannot serve
   */
  synchronized Connection connect() {
    if (isConnected()) {
      return connection;
    }
    dropConnection();
    Connection c = connector.connect();
    try {
      StreamProvisioner.Limits limits = stream.ensure(c);
      long max = c.getMaxPayload();
      boolean streamSmaller = limits.maxMsgSize() > 0 && limits.maxMsgSize() < max;
      limit = streamSmaller ? limits.maxMsgSize() : max;
      limitName =
          streamSmaller
              ? "stream " + stream.name() + "'s max_msg_size"
              : "the NATS server's max_payload";
      if (limit < MIN_LIMIT) {
        throw RelayException.fatal(
            limitName
                + " is "
                + limit
                + " bytes, below the "
                + MIN_LIMIT
                + " bytes the relay needs to publish a dead letter (its reason and routing"
                + " headers): raise "
                + (streamSmaller
                    ? "the stream's max_msg_size (nats stream edit " + stream.name() + ")"
                    : "max_payload in the NATS server's configuration")
                + " to at least "
                + MIN_LIMIT);
      }
      acks = new AckInbox(c, metrics);
      connection = c;
      return c;
    } catch (RuntimeException e) {
      closeQuietly(c);
      throw e;
    }
  }

  /** The connection when connected, else null; never connects (for the status page). */
  Connection currentConnection() {
    Connection c = connection;
    return c != null && c.getStatus() == Connection.Status.CONNECTED ? c : null;
  }

  /** The connection, for reading the stream (connects if needed). */
  Connection connection() {
    return connect();
  }

  /**
   * Publishes every message and returns when all are acknowledged; retries transport failures with
   * backoff, forever, until {@link #close()}. Messages that cannot be published as they are become
   * dead letters in {@code batch}, in place.
   *
   * @throws InterruptedException when the relay is stopping; then nothing is known to be acked
   */
  void publishAll(List<OutboundMessage> batch) throws InterruptedException {
    publishAll(batch, () -> true);
  }

  /**
   * As {@link #publishAll(List)}, while {@code mayGoOn} also says yes (asked with the fence): an
   * engine run that was abandoned sends nothing more, even once the relay leads again.
   */
  void publishAll(List<OutboundMessage> batch, BooleanSupplier mayGoOn)
      throws InterruptedException {
    BooleanSupplier fence = () -> mayGoOn.getAsBoolean() && leader.getAsBoolean();
    int n = batch.size();
    boolean[] acked = new boolean[n];
    boolean[] sent = new boolean[n];
    long[] seqs = new long[n];
    int failures = 0;
    boolean fresh = false;
    while (true) {
      if (closed || Thread.currentThread().isInterrupted()) {
        throw new InterruptedException("relay stopping");
      }
      if (!fence.getAsBoolean()) {
        throw notLeader();
      }
      Throwable failure;
      try {
        if (!isConnected()) {
          connect();
          fresh = true;
        }
        if (confirmedSeq < 0) {
          confirmedSeq = tail.lastSeq(connection); // nothing of this relay is in flight yet
        }
        if (fresh) {
          skipStored(batch, acked, sent);
          fresh = false;
        }
        fitToLimit(batch, acked);
        failure = attempt(batch, acked, sent, seqs, fence);
      } catch (RelayException | IOException | JetStreamApiException e) {
        failure = e;
      }
      advanceConfirmed(acked, seqs);
      if (failure == null) {
        return;
      }
      if (failure instanceof MessagesRefused) {
        continue; // dead letters replace the refused messages; send them at once
      }
      if (failure instanceof RelayException re && (re.isFatal() || re.isLeadershipLost())) {
        throw re;
      }
      metrics.retry();
      failures++;
      long delay = backoff.delay(failures).toMillis();
      int pending = 0;
      for (boolean a : acked) {
        pending += a ? 0 : 1;
      }
      String describe = OutboxException.describe(failure);
      log.warn(
          "publish to JetStream failed ({}); {} of {} messages unacknowledged, retrying in {} ms",
          describe,
          pending,
          n,
          delay);
      errors.add("publish", "publish to JetStream failed (" + describe + "); retrying");
      dropConnection();
      TimeUnit.MILLISECONDS.sleep(delay);
    }
  }

  /** A message the server refused for itself; it has been replaced by its dead letter. */
  private static final class MessagesRefused extends Exception {
    private static final long serialVersionUID = 1L;

    MessagesRefused() {
      super(null, null, false, false);
    }
  }

  /**
   * On a new connection, before resending: drops from the batch what the stream already holds (sent
   * on the broken connection and stored, its ack lost).
   */
  private void skipStored(List<OutboundMessage> batch, boolean[] acked, boolean[] sent)
      throws IOException, JetStreamApiException {
    boolean any = false;
    for (int i = 0; i < batch.size(); i++) {
      any |= sent[i] && !acked[i];
    }
    if (!any) {
      return;
    }
    Set<String> stored = tail.idsFrom(connection, confirmedSeq + 1);
    int skipped = 0;
    for (int i = 0; i < batch.size(); i++) {
      if (sent[i] && !acked[i] && stored.contains(batch.get(i).id())) {
        acked[i] = true;
        skipped++;
        metrics.replaySkipped();
      }
    }
    if (skipped > 0) {
      log.info(
          "{} messages sent before the reconnect were stored already; not sent again", skipped);
    }
  }

  /** Replaces messages over the size limit by their dead letters, and shrinks dead letters. */
  private void fitToLimit(List<OutboundMessage> batch, boolean[] acked) {
    long max = limit;
    for (int i = 0; i < batch.size(); i++) {
      OutboundMessage m = batch.get(i);
      if (acked[i] || m.size() <= max) {
        continue;
      }
      batch.set(
          i,
          m.isDeadLetter()
              ? deadLetters.fit(m, max)
              : deadLetters.of(
                  m,
                  "payload_too_large",
                  "event is "
                      + m.size()
                      + " bytes with headers, over "
                      + limitName
                      + " of "
                      + max
                      + " bytes",
                  max));
    }
  }

  private void advanceConfirmed(boolean[] acked, long[] seqs) {
    for (int i = 0; i < acked.length && acked[i]; i++) {
      if (seqs[i] > confirmedSeq) {
        confirmedSeq = seqs[i];
      }
    }
  }

  /**
   * One pass over the unacknowledged messages, in order, on one connection; returns the first
   * failure, or null. Stops sending at the first failure and waits for what is in flight.
   */
  private Throwable attempt(
      List<OutboundMessage> batch,
      boolean[] acked,
      boolean[] sentEver,
      long[] seqs,
      BooleanSupplier fence)
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
      if (!inbox.awaitInFlightAtMost(window - 1, System.nanoTime() + timeout)) {
        failure = new TimeoutException("no ack within " + config.ackTimeout().toMillis() + " ms");
        break;
      }
      if (inbox.anyFailed()) {
        break; // what follows a refused message waits, so that the stream keeps the batch's order
      }
      if (!fence.getAsBoolean()) {
        failure = notLeader(); // checked per message: a frozen relay sends nothing once it wakes
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
      sentEver[i] = true;
      lastSent = i;
      lastSentAt = System.nanoTime();
      metrics.inFlight.set(inbox.inFlight());
    }
    boolean allResolved = inbox.awaitInFlightAtMost(0, lastSentAt + timeout);
    metrics.inFlight.set(0);
    boolean refused = false;
    Throwable transport = null;
    for (int i = 0; i <= lastSent; i++) {
      if (acked[i]) {
        continue;
      }
      byte state = inbox.state(i);
      OutboundMessage m = batch.get(i);
      if (state == AckInbox.ACKED) {
        acked[i] = true;
        seqs[i] = inbox.streamSeq(i);
        if (m.isDeadLetter()) {
          metrics.deadLetter(m.deadLetterKind());
          log.error(
              "outbox event {} dead-lettered to {}: {}: {}",
              m.id(),
              m.subject(),
              m.deadLetterKind(),
              m.deadLetterReason());
          errors.add(
              "dead letter",
              "outbox event "
                  + m.id()
                  + " dead-lettered: "
                  + m.deadLetterKind()
                  + ": "
                  + m.deadLetterReason());
        }
      } else if (state == AckInbox.FAILED) {
        if (MESSAGE_ERRORS.contains(inbox.errorCode(i)) && !m.isDeadLetter()) {
          batch.set(i, deadLetters.of(m, "rejected_by_stream", inbox.error(i), limit));
          refused = true;
        } else if (transport == null) {
          transport = new IllegalStateException(inbox.error(i));
        }
      }
    }
    if (failure != null) {
      return failure;
    }
    if (transport != null) {
      return transport;
    }
    if (!allResolved) {
      metrics.publishError("timeout");
      return new TimeoutException(
          inbox.inFlight() + " acks missing after " + config.ackTimeout().toMillis() + " ms");
    }
    if (refused) {
      return new MessagesRefused();
    }
    for (boolean a : acked) {
      if (!a) {
        return new IllegalStateException("a message was not sent");
      }
    }
    return null;
  }

  private synchronized void dropConnection() {
    Connection c = connection;
    connection = null;
    AckInbox a = acks;
    acks = null;
    if (a != null) {
      a.close();
    }
    closeQuietly(c);
  }

  private static void closeQuietly(Connection c) {
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
}
