package io.outboxkit.bench;

import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StreamInfoOptions;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;

/**
 * Watches how many messages a stream holds on one subject until a target is reached; the storage
 * time of the last message on that subject is when JetStream stored (and acked) the last event. No
 * subscriber is involved, so the throughput runs carry no consumer load.
 */
final class StreamWatch {
  private StreamWatch() {}

  /** At completion: the count, and the storage time of the subject's last message. */
  record Completion(long count, long lastStoredMicros) {}

  static long count(JetStreamManagement jsm, String stream, String subject) {
    try {
      Map<String, Long> subjects =
          jsm.getStreamInfo(stream, StreamInfoOptions.filterSubjects(subject))
              .getStreamState()
              .getSubjectMap();
      Long n = subjects == null ? null : subjects.get(subject);
      return n == null ? 0 : n;
    } catch (IOException | JetStreamApiException e) {
      throw new BenchException("stream info of " + stream + ": " + e.getMessage(), e);
    }
  }

  /**
   * Waits until the stream holds {@code target} messages on {@code subject}; fails after {@code
   * stall} without a new message, or after {@code max} in all.
   */
  static Completion await(
      JetStreamManagement jsm,
      String stream,
      String subject,
      long target,
      Duration stall,
      Duration max) {
    long n =
        Clock.awaitProgress(
            () -> count(jsm, stream, subject),
            target,
            stall,
            max,
            20,
            (reached, idle) ->
                "stream "
                    + stream
                    + " holds "
                    + reached
                    + " of "
                    + target
                    + " messages on "
                    + subject
                    + "; no progress for "
                    + idle
                    + " s: the relay under test fell over or stalled (see its log)");
    try {
      long stored = Clock.micros(jsm.getLastMessage(stream, subject).getTime());
      return new Completion(n, stored);
    } catch (IOException | JetStreamApiException e) {
      throw new BenchException("last message of " + subject + ": " + e.getMessage(), e);
    }
  }
}
