package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.DiscardPolicy;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import io.outboxkit.NatsSubjects;
import java.io.IOException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the relay's JetStream stream, or creates it when it is missing and {@code stream.create}
 * is on. An existing stream is never changed: when its subjects do not cover the relay's subjects
 * the relay stops with the fix.
 */
final class StreamProvisioner {
  private static final Logger log = LoggerFactory.getLogger(StreamProvisioner.class);

  /** What publishing must respect of the stream: its largest message, or -1 for no limit. */
  record Limits(long maxMsgSize) {}

  private final RelayConfig.Stream stream;
  private final String subjectWildcard;
  private final String deadLetterSubject;

  StreamProvisioner(RelayConfig.Stream stream, String subjectWildcard, String deadLetterSubject) {
    this.stream = stream;
    this.subjectWildcard = subjectWildcard;
    this.deadLetterSubject = deadLetterSubject;
  }

  String name() {
    return stream.name();
  }

  /**
   * Makes sure the stream exists and takes the relay's subjects; returns its limits.
   *
   * @throws RelayException fatal for a stream that cannot serve, retryable when JetStream does not
   *     answer
   */
  Limits ensure(Connection c) {
    try {
      JetStreamManagement jsm = c.jetStreamManagement();
      StreamInfo info;
      try {
        info = jsm.getStreamInfo(stream.name());
        checkExisting(info.getConfiguration(), c.getMaxPayload());
      } catch (JetStreamApiException e) {
        if (e.getApiErrorCode() != 10059) {
          throw e;
        }
        info = create(jsm);
      }
      List<String> subjects = info.getConfiguration().getSubjects();
      checkCovered(subjects, subjectWildcard, "outboxkit.relay.subject-template");
      checkCovered(subjects, deadLetterSubject, "outboxkit.relay.dead-letter-subject");
      return new Limits(info.getConfiguration().getMaximumMessageSize());
    } catch (IOException e) {
      throw RelayException.retryable(
          "checking JetStream stream " + stream.name() + " failed: " + e, e);
    } catch (JetStreamApiException e) {
      throw RelayException.retryable(
          "checking JetStream stream "
              + stream.name()
              + " failed: "
              + e.getMessage()
              + " (is JetStream enabled on the server? start it with -js)",
          e);
    }
  }

  private StreamInfo create(JetStreamManagement jsm) throws IOException, JetStreamApiException {
    if (!stream.create()) {
      throw RelayException.fatal(
          "JetStream stream "
              + stream.name()
              + " does not exist and outboxkit.relay.stream.create is false: create it with"
              + " subjects covering "
              + subjectWildcard
              + " and "
              + deadLetterSubject
              + ", or set outboxkit.relay.stream.create=true");
    }
    StreamInfo info =
        jsm.addStream(
            StreamConfiguration.builder()
                .name(stream.name())
                .subjects(stream.subjects())
                .storageType(
                    "memory".equals(stream.storage()) ? StorageType.Memory : StorageType.File)
                .replicas(stream.replicas())
                .duplicateWindow(stream.duplicateWindow())
                .description("outbox events published by outboxkit-relay")
                .build());
    log.info(
        "created JetStream stream {} (subjects {}, {} storage, {} replicas, duplicate window {})",
        stream.name(),
        stream.subjects(),
        stream.storage(),
        stream.replicas(),
        stream.duplicateWindow());
    return info;
  }

  /**
   * A stream the relay did not create may be set up in ways that break its guarantees (fatal) or
   * weaken them (a warning); each names the stream setting and the fix.
   */
  void checkExisting(StreamConfiguration cfg, long serverMaxPayload) {
    String name = stream.name();
    java.time.Duration window = cfg.getDuplicateWindow();
    if (window == null || window.compareTo(stream.duplicateWindow()) < 0) {
      throw RelayException.fatal(
          "JetStream stream "
              + name
              + " has duplicate_window "
              + window
              + ", shorter than outboxkit.relay.stream.duplicate-window ("
              + stream.duplicateWindow()
              + "): JetStream would store a replayed event twice once its first copy is older than"
              + " the window. Fix: nats stream edit "
              + name
              + " --dupe-window "
              + stream.duplicateWindow().toSeconds()
              + "s (or lower the setting if you accept that)");
    }
    RetentionPolicy retention = cfg.getRetentionPolicy();
    if (retention == RetentionPolicy.Interest || retention == RetentionPolicy.WorkQueue) {
      throw RelayException.fatal(
          "JetStream stream "
              + name
              + " has retention "
              + retention.toString().toLowerCase(java.util.Locale.ROOT)
              + ", which deletes events once the consumers present have taken them (or at once"
              + " when none is), so a consumer added later never sees them, and the relay cannot"
              + " read the end of the stream to skip replays. Fix: use a stream with retention"
              + " limits (nats stream add ... --retention limits) and bound it with max_age or"
              + " max_bytes");
    }
    if (cfg.getMaxMsgSize() > 0 && cfg.getMaxMsgSize() < serverMaxPayload) {
      log.warn(
          "JetStream stream {} has max_msg_size {} bytes, below the server's max_payload {}:"
              + " larger events become dead letters. Fix: nats stream edit {} --max-msg-size=-1",
          name,
          cfg.getMaxMsgSize(),
          serverMaxPayload,
          name);
    }
    boolean bounded =
        cfg.getMaxMsgs() > 0 || cfg.getMaxBytes() > 0 || cfg.getMaxMsgsPerSubject() > 0;
    if (cfg.getDiscardPolicy() == DiscardPolicy.New && bounded) {
      log.warn(
          "JetStream stream {} has discard new with limits (max_msgs {}, max_bytes {},"
              + " max_msgs_per_subject {}): once full it refuses every event and the relay stops"
              + " publishing (retrying) until space is freed. Fix: nats stream edit {} --discard"
              + " old, or raise the limits",
          name,
          cfg.getMaxMsgs(),
          cfg.getMaxBytes(),
          cfg.getMaxMsgsPerSubject(),
          name);
    }
    if (cfg.getStorageType() == StorageType.Memory) {
      log.warn(
          "JetStream stream {} keeps its messages in memory: a server restart loses every event"
              + " in it. Fix: a stream with file storage (nats stream add ... --storage file)",
          name);
    }
  }

  private void checkCovered(List<String> filters, String subject, String setting) {
    for (String f : filters) {
      if (NatsSubjects.covers(f, subject)) {
        return;
      }
    }
    int dot = subject.indexOf('.');
    throw RelayException.fatal(
        "JetStream stream "
            + stream.name()
            + " has subjects "
            + filters
            + ", which do not cover "
            + subject
            + " (from "
            + setting
            + "): add a subject such as "
            + (dot < 0 ? subject : subject.substring(0, dot))
            + ".> to the stream, or change "
            + setting);
  }
}
