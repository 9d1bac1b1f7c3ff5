package io.outboxkit.bench;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamSubscription;
import io.nats.client.Message;
import io.nats.client.PushSubscribeOptions;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A subscriber in the harness process (JetStream ordered push consumer on one workload's subject)
 * that times every event: commit (from PostgreSQL, see {@link CommitClock}) → received here, and
 * commit → stored by JetStream (the message's stream timestamp, which is when the server acked the
 * publish). Events committed before {@code measureFromMicros} (the warm-up; set once the writers
 * start) are counted, not timed.
 */
final class DeliveryProbe implements AutoCloseable {
  private final Dispatcher dispatcher;
  private final JetStreamSubscription subscription;
  private final CommitClock clock;
  private final AtomicLong measureFrom;
  private final Latency received = new Latency();
  private final Latency stored = new Latency();
  private final Latency receivedPayloadClock = new Latency();
  private volatile long count;
  private volatile long missingCommitTime;
  private volatile long lastStoredMicros;
  private volatile long lastReceivedMicros;

  DeliveryProbe(
      Connection nc,
      String stream,
      String subject,
      CommitClock clock,
      AtomicLong measureFromMicros) {
    this.clock = clock;
    this.measureFrom = measureFromMicros;
    this.dispatcher = nc.createDispatcher();
    try {
      this.subscription =
          nc.jetStream()
              .subscribe(
                  subject,
                  dispatcher,
                  this::onMessage,
                  false,
                  PushSubscribeOptions.builder().stream(stream).ordered(true).build());
    } catch (IOException | JetStreamApiException e) {
      nc.closeDispatcher(dispatcher);
      throw new BenchException("cannot subscribe to " + subject + " on " + stream + ": " + e, e);
    }
  }

  private void onMessage(Message m) {
    long now = Clock.nowMicros();
    if (!m.isJetStream()) {
      return;
    }
    long storedAt = Clock.micros(m.metaData().timestamp());
    long commit = clock.commitMicros(m.getHeaders(), m.getData());
    if (commit < 0) {
      missingCommitTime++;
    } else if (commit >= measureFrom.get()) {
      received.record(now - commit);
      stored.record(storedAt - commit);
      if (clock == CommitClock.HEADER) {
        long ts = CommitClock.payloadTs(m.getData());
        if (ts > 0) {
          receivedPayloadClock.record(now - ts);
        }
      }
    }
    lastStoredMicros = Math.max(lastStoredMicros, storedAt);
    lastReceivedMicros = now;
    count = count + 1; // only the dispatcher thread writes
  }

  /** Waits until {@code n} events arrived; fails after {@code stall} without progress. */
  void await(long n, Duration stall, Duration max, String what) {
    Clock.awaitProgress(
        () -> count,
        n,
        stall,
        max,
        10,
        (c, idle) ->
            what
                + ": the subscriber received "
                + c
                + " of "
                + n
                + " events; no progress for "
                + idle
                + " s");
    if (missingCommitTime > 0) {
      throw new BenchException(
          what + ": " + missingCommitTime + " events carried no commit time (" + clock + ")");
    }
  }

  long count() {
    return count;
  }

  /** Commit → received by this subscriber. */
  Latency.Percentiles received() {
    return received.percentiles();
  }

  /** Commit → stored in the stream (JetStream's timestamp = when it acked the publish). */
  Latency.Percentiles stored() {
    return stored.percentiles();
  }

  /** HEADER clock only: the same received times measured from the payload's clock instead. */
  Latency.Percentiles receivedPayloadClock() {
    return receivedPayloadClock.percentiles();
  }

  long lastStoredMicros() {
    return lastStoredMicros;
  }

  long lastReceivedMicros() {
    return lastReceivedMicros;
  }

  @Override
  public void close() {
    try {
      subscription.unsubscribe();
    } catch (RuntimeException e) {
      // connection closing
    }
  }
}
