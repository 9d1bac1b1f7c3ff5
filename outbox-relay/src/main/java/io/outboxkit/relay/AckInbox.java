package io.outboxkit.relay;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Collects JetStream publish acknowledgements for one connection. Each message is published with
 * core NATS and a reply subject {@code <inbox>.<sequence>}; the server's ack comes back to one
 * wildcard subscription and is matched by the sequence. This costs about half of what the client's
 * per-message futures cost ({@code JetStream.publishAsync}), and keeps the relay's own window.
 *
 * <p>One attempt (a run of sends) is tracked at a time; acks of an earlier attempt are ignored. For
 * each message it records the stream sequence the server stored it at, or the server's error code
 * and description.
 */
final class AckInbox implements AutoCloseable {
  static final byte PENDING = 0;
  static final byte ACKED = 1;
  static final byte FAILED = 2;

  /** Error code of a reply that is not a JetStream API error (no responders, a bad reply). */
  static final int NO_API_ERROR = -1;

  private static final JsonFactory JSON = new JsonFactory();

  private final String prefix;
  private final Dispatcher dispatcher;
  private final RelayMetrics metrics;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private long nextSequence;
  private long base;
  private byte[] state = new byte[0];
  private long[] commitMicros = new long[0];
  private long[] streamSeq = new long[0];
  private int[] errorCode = new int[0];
  private String[] error = new String[0];
  private int size;
  private int failed;
  private int resolved;
  private int sent;

  AckInbox(Connection connection, RelayMetrics metrics) {
    this.metrics = metrics;
    this.prefix = connection.createInbox();
    this.dispatcher = connection.createDispatcher(this::onAck);
    dispatcher.setPendingLimits(-1, -1);
    dispatcher.subscribe(prefix + ".*");
  }

  /** Starts tracking {@code size} messages. */
  void begin(int size) {
    lock.lock();
    try {
      base = nextSequence;
      nextSequence += size;
      if (state.length < size) {
        state = new byte[size];
        commitMicros = new long[size];
        streamSeq = new long[size];
        errorCode = new int[size];
        error = new String[size];
      } else {
        Arrays.fill(state, 0, size, PENDING);
        Arrays.fill(error, 0, size, null);
      }
      this.size = size;
      resolved = 0;
      failed = 0;
      sent = 0;
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

  /** Whether the server refused any message of this attempt. */
  boolean anyFailed() {
    lock.lock();
    try {
      return failed > 0;
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

  /** The stream sequence an acknowledged message is stored at. */
  long streamSeq(int index) {
    lock.lock();
    try {
      return streamSeq[index];
    } finally {
      lock.unlock();
    }
  }

  /** The JetStream error code of a failed message, or {@link #NO_API_ERROR}. */
  int errorCode(int index) {
    lock.lock();
    try {
      return errorCode[index];
    } finally {
      lock.unlock();
    }
  }

  /** What the server said about a failed message. */
  String error(int index) {
    lock.lock();
    try {
      return error[index];
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
    Reply reply;
    if (m.isStatusMessage()) {
      reply =
          new Reply(
              -1,
              false,
              NO_API_ERROR,
              m.getStatus().getCode() == 503
                  ? "no JetStream stream takes the subject (503 no responders)"
                  : "status " + m.getStatus().getCode() + " " + m.getStatus().getMessage());
    } else {
      reply = Reply.parse(m.getData());
    }
    long commit;
    lock.lock();
    try {
      long index = sequence - base;
      if (index < 0 || index >= size || state[(int) index] != PENDING) {
        return; // an ack of an earlier attempt, or a repeat
      }
      int i = (int) index;
      if (reply.error == null) {
        state[i] = ACKED;
        streamSeq[i] = reply.seq;
      } else {
        state[i] = FAILED;
        failed++;
        errorCode[i] = reply.errorCode;
        error[i] = reply.error;
      }
      commit = commitMicros[i];
      resolved++;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    if (reply.error == null) {
      metrics.acked(commit, reply.duplicate);
    } else {
      metrics.publishError(reply.errorCode == NO_API_ERROR ? "no_responders" : "api");
    }
  }

  /** A JetStream publish reply: {@code {"stream":..,"seq":..}} or {@code {"error":{...}}}. */
  private record Reply(long seq, boolean duplicate, int errorCode, String error) {
    static Reply parse(byte[] body) {
      long seq = -1;
      boolean duplicate = false;
      int code = NO_API_ERROR;
      String description = null;
      boolean isError = false;
      try (JsonParser p = JSON.createParser(body == null ? new byte[0] : body)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          return unexpected(body);
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          JsonToken t = p.nextToken();
          if ("seq".equals(field) && t == JsonToken.VALUE_NUMBER_INT) {
            seq = p.getLongValue();
          } else if ("duplicate".equals(field)) {
            duplicate = t == JsonToken.VALUE_TRUE;
          } else if ("error".equals(field) && t == JsonToken.START_OBJECT) {
            isError = true;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String f = p.currentName();
              JsonToken v = p.nextToken();
              if ("err_code".equals(f) && v == JsonToken.VALUE_NUMBER_INT) {
                code = p.getIntValue();
              } else if ("description".equals(f)) {
                description = p.getText();
              } else {
                p.skipChildren();
              }
            }
          } else {
            p.skipChildren();
          }
        }
      } catch (IOException e) {
        return unexpected(body);
      }
      if (isError) {
        return new Reply(
            -1,
            false,
            code,
            "JetStream refused the message: "
                + (description == null ? "(no description)" : description)
                + (code == NO_API_ERROR ? "" : " (err_code " + code + ")"));
      }
      return seq < 0 ? unexpected(body) : new Reply(seq, duplicate, NO_API_ERROR, null);
    }

    private static Reply unexpected(byte[] body) {
      String text = body == null ? "" : new String(body, StandardCharsets.UTF_8);
      return new Reply(
          -1,
          false,
          NO_API_ERROR,
          "unexpected reply: " + text.substring(0, Math.min(200, text.length())));
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
}
