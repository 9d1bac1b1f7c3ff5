package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Collects JetStream publish acknowledgements for one connection. Each message is published with
 * core NATS and a reply subject {@code <inbox>.<sequence>}; the server's ack comes back to one
 * wildcard subscription and is matched by the sequence. This costs about half of what the client's
 * per-message futures cost ({@code JetStream.publishAsync}), and keeps the relay's own window.
 *
 * <p>One attempt (a run of sends) is tracked at a time; acks of an earlier attempt are ignored.
 */
final class AckInbox implements AutoCloseable {
  static final byte PENDING = 0;
  static final byte ACKED = 1;
  static final byte FAILED = 2;

  private final String prefix;
  private final Dispatcher dispatcher;
  private final RelayMetrics metrics;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private long nextSequence;
  private long base;
  private byte[] state = new byte[0];
  private long[] commitMicros = new long[0];
  private int size;
  private int resolved;
  private int sent;
  private String firstError;

  AckInbox(Connection connection, RelayMetrics metrics) {
    this.metrics = metrics;
    this.prefix = connection.createInbox();
    this.dispatcher = connection.createDispatcher(this::onAck);
    dispatcher.setPendingLimits(-1, -1);
    dispatcher.subscribe(prefix + ".*");
  }

  /** Starts tracking {@code size} messages; returns the sequence of the first. */
  long begin(int size) {
    lock.lock();
    try {
      base = nextSequence;
      nextSequence += size;
      if (state.length < size) {
        state = new byte[size];
        commitMicros = new long[size];
      } else {
        java.util.Arrays.fill(state, 0, size, PENDING);
      }
      this.size = size;
      resolved = 0;
      sent = 0;
      firstError = null;
      return base;
    } finally {
      lock.unlock();
    }
  }

  /** The reply subject of message {@code index} of the current attempt. */
  String replyTo(int index) {
    return prefix + "." + (base + index);
  }

  /** Records that message {@code index} is about to go out (its ack may come back at once). */
  void sending(int index, long commit) {
    lock.lock();
    try {
      commitMicros[index] = commit;
      sent++;
    } finally {
      lock.unlock();
    }
  }

  /** Takes back {@link #sending} for a message whose publish threw. */
  void notSent() {
    lock.lock();
    try {
      sent--;
    } finally {
      lock.unlock();
    }
  }

  /** Sent and not yet resolved. */
  int inFlight() {
    lock.lock();
    try {
      return sent - resolved;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until at most {@code maxInFlight} sent messages are unresolved, or the deadline passes.
   *
   * @return false on timeout
   */
  boolean awaitInFlightAtMost(int maxInFlight, long deadlineNanos) throws InterruptedException {
    lock.lock();
    try {
      while (sent - resolved > maxInFlight) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        changed.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  byte state(int index) {
    lock.lock();
    try {
      return state[index];
    } finally {
      lock.unlock();
    }
  }

  /** The first failure the server reported in this attempt, or null. */
  String firstError() {
    lock.lock();
    try {
      return firstError;
    } finally {
      lock.unlock();
    }
  }

  private void onAck(Message m) {
    String subject = m.getSubject();
    long sequence;
    try {
      sequence = Long.parseLong(subject.substring(subject.lastIndexOf('.') + 1));
    } catch (NumberFormatException e) {
      return;
    }
    String error = null;
    boolean duplicate = false;
    if (m.isStatusMessage()) {
      error =
          m.getStatus().getCode() == 503
              ? "no JetStream stream takes the subject (503 no responders)"
              : "status " + m.getStatus().getCode() + " " + m.getStatus().getMessage();
    } else {
      byte[] body = m.getData();
      String json = body == null ? "" : new String(body, StandardCharsets.UTF_8);
      if (json.contains("\"error\"")) {
        error = "JetStream refused the message: " + json;
      } else if (!json.contains("\"seq\"")) {
        error = "unexpected reply: " + json;
      } else {
        duplicate = json.contains("\"duplicate\":true");
      }
    }
    long commit;
    lock.lock();
    try {
      long index = sequence - base;
      if (index < 0 || index >= size || state[(int) index] != PENDING) {
        return; // an ack of an earlier attempt, or a repeat
      }
      int i = (int) index;
      state[i] = error == null ? ACKED : FAILED;
      if (error != null && firstError == null) {
        firstError = error;
      }
      commit = commitMicros[i];
      resolved++;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    if (error == null) {
      metrics.acked(commit, duplicate);
    } else {
      metrics.publishError("api");
    }
  }

  @Override
  public void close() {
    try {
      dispatcher.unsubscribe(prefix + ".*");
    } catch (RuntimeException e) {
      // the connection is closing anyway
    }
  }

  static long deadline(long timeoutNanos) {
    return System.nanoTime() + timeoutNanos;
  }

  static long millis(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }
}
