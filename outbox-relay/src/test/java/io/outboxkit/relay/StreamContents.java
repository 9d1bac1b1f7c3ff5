package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.ConsumerContext;
import io.nats.client.IterableConsumer;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamOptions;
import io.nats.client.Message;
import io.nats.client.StreamContext;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.impl.Headers;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.testing.Ports;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads a whole stream back, to compare it with what was committed. */
final class StreamContents {
  /** One stored message. */
  record Stored(long seq, String subject, String msgId, Headers headers, byte[] data) {
    String header(String name) {
      return headers == null ? null : headers.getFirst(name);
    }
  }

  private static final Logger log = LoggerFactory.getLogger(StreamContents.class);

  private StreamContents() {}

  static long count(Connection nc, String stream) {
    try {
      return nc.jetStreamManagement().getStreamInfo(stream).getStreamState().getMsgCount();
    } catch (IOException | JetStreamApiException e) {
      return -1;
    }
  }

  /** Waits until the stream holds at least {@code n} messages. */
  static void awaitCount(Connection nc, String stream, long n, Duration timeout) {
    Ports.await(
        stream + " to hold " + n + " messages (has " + count(nc, stream) + ")",
        timeout,
        () -> count(nc, stream) >= n);
  }

  /**
   * Every message of the stream, in stream order. Reading is retried with a fresh consumer until a
   * deadline: right after a cluster node (re)joins, JetStream API requests can time out while the
   * meta leader or the stream's raft group settles, and a read is safe to repeat.
   */
  static List<Stored> readAll(Connection nc, String stream) {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    Exception last;
    do {
      try {
        return readOnce(nc, stream);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while reading stream " + stream, e);
      } catch (Exception e) {
        last = e;
        log.info("reading stream {} failed, retrying: {}", stream, e.toString());
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while reading stream " + stream, e);
      }
    } while (System.nanoTime() < deadline);
    throw new IllegalStateException("reading stream " + stream + " failed: " + last, last);
  }

  private static List<Stored> readOnce(Connection nc, String stream) throws Exception {
    long total = count(nc, stream);
    if (total < 0) {
      throw new IllegalStateException("stream info of " + stream + " is not available");
    }
    List<Stored> out = new ArrayList<>((int) Math.max(total, 16));
    StreamContext sc =
        nc.getStreamContext(
            stream, JetStreamOptions.builder().requestTimeout(Duration.ofSeconds(10)).build());
    ConsumerContext cc =
        sc.createOrUpdateConsumer(
            ConsumerConfiguration.builder()
                .name("reader" + UUID.randomUUID().toString().replace("-", "").substring(0, 12))
                .ackPolicy(AckPolicy.None)
                .deliverPolicy(DeliverPolicy.All)
                .inactiveThreshold(Duration.ofMinutes(2))
                .build());
    try (IterableConsumer it = cc.iterate()) {
      while (out.size() < total) {
        Message m = it.nextMessage(Duration.ofSeconds(10));
        if (m == null) {
          throw new IllegalStateException(
              "read only " + out.size() + " of " + total + " messages of " + stream);
        }
        out.add(
            new Stored(
                m.metaData().streamSequence(),
                m.getSubject(),
                m.getHeaders() == null ? null : m.getHeaders().getFirst(OutboxHeaders.MSG_ID),
                m.getHeaders(),
                m.getData()));
      }
    }
    return out;
  }

  /** Message ids that occur more than once. */
  static Set<String> duplicates(List<Stored> stored) {
    Set<String> seen = new HashSet<>();
    Set<String> dup = new HashSet<>();
    for (Stored s : stored) {
      if (!seen.add(s.msgId())) {
        dup.add(s.msgId());
      }
    }
    return dup;
  }

  /** Per aggregate id, the stream order of message ids. */
  static Map<String, List<String>> byAggregate(List<Stored> stored) {
    Map<String, List<String>> out = new HashMap<>();
    for (Stored s : stored) {
      out.computeIfAbsent(s.header(OutboxHeaders.AGGREGATE_ID), k -> new ArrayList<>())
          .add(s.msgId());
    }
    return out;
  }
}
