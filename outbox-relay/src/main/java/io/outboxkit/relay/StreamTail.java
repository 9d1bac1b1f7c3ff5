package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.ConsumerContext;
import io.nats.client.IterableConsumer;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamOptions;
import io.nats.client.Message;
import io.nats.client.StreamContext;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.StreamState;
import io.nats.client.impl.Headers;
import io.outboxkit.NatsSubjects;
import io.outboxkit.OutboxHeaders;
import java.io.IOException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads what the relay itself stored at the end of its stream, so that a replay never stores an
 * event twice, whatever the stream's duplicate window: after a restart (events since the last
 * resume point are replayed) and after a reconnect (unacknowledged messages may have been stored).
 *
 * <p>The relay's messages are those on its subjects (the subject template's wildcard and its
 * dead-letter subject); a row's id is its {@code Outbox-Id} (dead letters) or {@code Nats-Msg-Id}.
 * Consumers' dead-letter copies in the same stream are on other subjects and are ignored.
 */
final class StreamTail {
  private static final Logger log = LoggerFactory.getLogger(StreamTail.class);

  /** The most messages one scan reads; beyond it the duplicate window has to serve. */
  static final long MAX_SCAN = 2_000_000;

  private final String stream;
  private final String subjectWildcard;
  private final String deadLetterSubject;

  StreamTail(String stream, String subjectWildcard, String deadLetterSubject) {
    this.stream = stream;
    this.subjectWildcard = subjectWildcard;
    this.deadLetterSubject = deadLetterSubject;
  }

  /** The sequence of the stream's last message, 0 when it is empty. */
  long lastSeq(Connection c) throws IOException, JetStreamApiException {
    return c.jetStreamManagement().getStreamInfo(stream).getStreamState().getLastSequence();
  }

  /** Ids of the relay's messages stored at sequence {@code fromSeq} or later. */
  Set<String> idsFrom(Connection c, long fromSeq) throws IOException, JetStreamApiException {
    return read(c, fromSeq, lsn -> true);
  }

  /**
   * Ids of the relay's messages whose {@code Outbox-Replay-Lsn} is {@code resumeLsn} or later: the
   * events a relay that resumes from {@code resumeLsn} replays and already stored. Finds where they
   * begin by probing back from the end, then reads forward; {@code margin} more messages are read
   * before the first older one found, to cover dead letters stored out of order.
   */
  Set<String> idsReplayedFrom(Connection c, long resumeLsn, long margin)
      throws IOException, JetStreamApiException {
    JetStreamManagement jsm = c.jetStreamManagement();
    StreamState state = jsm.getStreamInfo(stream).getStreamState();
    if (state.getMsgCount() == 0) {
      return Set.of();
    }
    long first = state.getFirstSequence();
    long last = state.getLastSequence();
    long start = first;
    long step = Math.max(1, margin);
    for (long probe = last; probe >= first; ) {
      Long replay = replayLsnAt(jsm, probe);
      if (replay != null && Long.compareUnsigned(replay, resumeLsn) < 0) {
        start = Math.max(first, probe - margin);
        break;
      }
      if (probe == first) {
        break;
      }
      probe = Math.max(first, probe - step);
      step = Math.min(step * 2, MAX_SCAN);
    }
    if (last - start > MAX_SCAN) {
      log.warn(
          "stream {}: more than {} messages since the resume point; checking only the last {}"
              + " against replays (older replays rely on the duplicate window)",
          stream,
          MAX_SCAN,
          MAX_SCAN);
      start = last - MAX_SCAN;
    }
    return read(c, start, lsn -> Long.compareUnsigned(lsn, resumeLsn) >= 0);
  }

  /** The replay LSN of the relay message at {@code seq}; null when it is not the relay's. */
  private Long replayLsnAt(JetStreamManagement jsm, long seq)
      throws IOException, JetStreamApiException {
    MessageInfo mi;
    try {
      mi = jsm.getMessage(stream, seq);
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == 10037) {
        return null; // deleted
      }
      throw e;
    }
    if (mi == null || !isRelaySubject(mi.getSubject())) {
      return null;
    }
    return replayLsn(mi.getHeaders());
  }

  private Set<String> read(Connection c, long fromSeq, LongPredicate replayLsnWanted)
      throws IOException, JetStreamApiException {
    long end = lastSeq(c);
    Set<String> ids = new HashSet<>();
    if (end < fromSeq) {
      return ids;
    }
    StreamContext sc =
        c.getStreamContext(
            stream, JetStreamOptions.builder().requestTimeout(Duration.ofSeconds(10)).build());
    String name = "outboxkit-relay-tail-" + UUID.randomUUID().toString().substring(0, 8);
    ConsumerContext cc =
        sc.createOrUpdateConsumer(
            ConsumerConfiguration.builder()
                .name(name)
                .ackPolicy(AckPolicy.None)
                .deliverPolicy(DeliverPolicy.ByStartSequence)
                .startSequence(Math.max(1, fromSeq))
                .headersOnly(true)
                .inactiveThreshold(Duration.ofSeconds(30))
                .build());
    long read = 0;
    try (IterableConsumer it = cc.iterate()) {
      while (true) {
        Message m = it.nextMessage(Duration.ofSeconds(10));
        if (m == null) {
          throw new IOException(
              "reading stream " + stream + " from sequence " + fromSeq + " timed out");
        }
        read++;
        long seq = m.metaData().streamSequence();
        if (isRelaySubject(m.getSubject())) {
          Long replay = replayLsn(m.getHeaders());
          if (replay == null || replayLsnWanted.test(replay)) {
            String id = idOf(m.getHeaders());
            if (id != null) {
              ids.add(id);
            }
          }
        }
        if (seq >= end) {
          break;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while reading stream " + stream, e);
    } catch (IOException | JetStreamApiException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("reading stream " + stream + " failed: " + e, e);
    } finally {
      try {
        sc.deleteConsumer(name);
      } catch (IOException | JetStreamApiException | RuntimeException e) {
        // it expires by its inactive threshold
      }
    }
    log.debug(
        "stream {}: read {} messages from {}, {} relay ids", stream, read, fromSeq, ids.size());
    return ids;
  }

  private boolean isRelaySubject(String subject) {
    return subject.equals(deadLetterSubject) || NatsSubjects.matches(subjectWildcard, subject);
  }

  private static Long replayLsn(Headers h) {
    String v = h == null ? null : h.getFirst(OutboxHeaders.REPLAY_LSN);
    if (v == null) {
      return null;
    }
    try {
      return OffsetLsn.parse(v);
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static String idOf(Headers h) {
    if (h == null) {
      return null;
    }
    String outboxId = h.getFirst(OutboxHeaders.OUTBOX_ID);
    return outboxId != null ? outboxId : h.getFirst(OutboxHeaders.MSG_ID);
  }
}
