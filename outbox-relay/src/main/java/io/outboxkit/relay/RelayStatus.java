package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.StreamState;
import io.nats.client.api.Subject;
import io.outboxkit.OutboxException;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the status page shows, as one JSON-ready map: state and role, lag commit → ack over the last
 * minute, throughput, the slot's retained WAL, heartbeat age, dead letters, the last errors, and
 * the stream. Everything but the stream comes from memory; the slot's retained WAL is what the
 * relay measures every {@code slot-check-interval} anyway (no query per request), and the stream is
 * read from JetStream on the relay's own connection at most every {@link #STREAM_CACHE_MILLIS}.
 */
@Singleton
final class RelayStatus {
  /** The stream is read at most this often, however often the page is polled. */
  static final long STREAM_CACHE_MILLIS = 2_000;

  private final RelaySupervisor supervisor;
  private final RelayMetrics metrics;
  private final RecentErrors errors;
  private final long startedMillis = ManagementFactory.getRuntimeMXBean().getStartTime();
  private Map<String, Object> stream;
  private long streamReadAt;

  RelayStatus(RelaySupervisor supervisor, RelayMetrics metrics, RecentErrors errors) {
    this.supervisor = supervisor;
    this.metrics = metrics;
    this.errors = errors;
  }

  Map<String, Object> snapshot() {
    long now = System.currentTimeMillis();
    RelaySettings settings = supervisor.settings();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("generatedAt", Instant.ofEpochMilli(now).toString());

    Map<String, Object> relay = new LinkedHashMap<>(RelayHealth.details(supervisor));
    relay.put("holdsLock", metrics.active.get() == 1);
    relay.put("uptimeSeconds", (now - startedMillis) / 1000);
    m.put("relay", relay);

    LagWindow.Snapshot w = metrics.recent.snapshot(now);
    Map<String, Object> lag = new LinkedHashMap<>();
    lag.put("windowSeconds", w.windowSeconds());
    lag.put("samples", w.samples());
    lag.put("p50Ms", millis(w.p50Micros()));
    lag.put("p99Ms", millis(w.p99Micros()));
    lag.put("maxMs", w.samples() == 0 ? null : millis(w.maxMicros()));
    m.put("lag", lag);

    Map<String, Object> throughput = new LinkedHashMap<>();
    throughput.put("eventsPerSecond", Math.round(w.eventsPerSecond() * 10) / 10.0);
    throughput.put("rateSeconds", w.rateSeconds());
    throughput.put("eventsInWindow", w.events());
    throughput.put("eventsTotal", metrics.publishedTotal());
    throughput.put("duplicatesTotal", metrics.duplicatesTotal());
    throughput.put("inFlight", metrics.inFlight.get());
    m.put("throughput", throughput);

    Map<String, Object> wal = new LinkedHashMap<>();
    long retained = metrics.retainedWalBytes.get();
    long measured = metrics.retainedWalMeasuredMillis.get();
    wal.put("slot", settings.slot());
    wal.put("retainedBytes", measured == 0 || retained < 0 ? null : retained);
    wal.put("measuredSecondsAgo", measured == 0 ? null : (now - measured) / 1000.0);
    wal.put("checkIntervalSeconds", settings.slotCheckInterval().toMillis() / 1000.0);
    m.put("wal", wal);

    Map<String, Object> heartbeat = new LinkedHashMap<>();
    boolean standby = supervisor.state() == RelaySupervisor.State.STANDBY;
    // A standby writes no checkpoints: no age to show.
    heartbeat.put(
        "ageSeconds", standby ? null : (now - metrics.lastHeartbeatMillis.get()) / 1000.0);
    heartbeat.put("intervalSeconds", settings.engine().heartbeatInterval().toMillis() / 1000.0);
    m.put("heartbeat", heartbeat);

    Map<String, Object> stream = stream(now, settings);
    Map<String, Long> byKind = metrics.deadLettersByKind();
    Map<String, Object> dead = new LinkedHashMap<>();
    dead.put("subject", settings.deadLetterSubject());
    dead.put("sinceStart", byKind.values().stream().mapToLong(Long::longValue).sum());
    dead.put("byKind", byKind);
    dead.put("inStream", stream.get("deadLetters"));
    m.put("deadLetters", dead);

    List<Map<String, Object>> list = new ArrayList<>();
    for (RecentErrors.Entry e : errors.list()) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("at", e.at().toString());
      entry.put("source", e.source());
      entry.put("message", e.message());
      entry.put("count", e.count());
      list.add(entry);
    }
    m.put("errors", list);
    m.put("stream", stream);
    return m;
  }

  private static Double millis(long micros) {
    return micros < 0 ? null : Math.round(micros / 10.0) / 100.0;
  }

  /** The stream's state, read at most every {@link #STREAM_CACHE_MILLIS}. */
  private synchronized Map<String, Object> stream(long now, RelaySettings settings) {
    if (stream != null && now - streamReadAt < STREAM_CACHE_MILLIS) {
      return stream;
    }
    String name = settings.stream().name();
    String dlq = settings.deadLetterSubject();
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("name", name);
    Connection c = supervisor.publisher().currentConnection();
    if (c == null) {
      s.put("available", false);
      s.put(
          "problem",
          supervisor.state() == RelaySupervisor.State.STANDBY
              ? "standby: not connected to NATS"
              : "not connected to NATS");
    } else {
      try {
        StreamInfo info =
            c.jetStreamManagement().getStreamInfo(name, StreamInfoOptions.filterSubjects(dlq));
        StreamState st = info.getStreamState();
        s.put("available", true);
        s.put("subjects", info.getConfiguration().getSubjects());
        s.put("messages", st.getMsgCount());
        s.put("bytes", st.getByteCount());
        s.put("firstSeq", st.getFirstSequence());
        s.put("firstTime", time(st.getFirstTime()));
        s.put("lastSeq", st.getLastSequence());
        s.put("lastTime", time(st.getLastTime()));
        s.put("consumers", st.getConsumerCount());
        long dead = 0;
        List<Subject> subjects = st.getSubjects();
        if (subjects != null) {
          for (Subject sub : subjects) {
            if (sub.getName().equals(dlq)) {
              dead += sub.getCount();
            }
          }
        }
        s.put("deadLetters", dead);
      } catch (IOException | JetStreamApiException | RuntimeException e) {
        s.put("available", false);
        s.put("problem", RecentErrors.clean(OutboxException.describe(e)));
      }
    }
    s.put("readAt", Instant.ofEpochMilli(now).toString());
    stream = s;
    streamReadAt = now;
    return s;
  }

  private static String time(java.time.ZonedDateTime t) {
    return t == null || t.toEpochSecond() <= 0 ? null : t.toInstant().toString();
  }
}
