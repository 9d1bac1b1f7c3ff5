package io.outboxkit.relay;

import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.StreamInfo;
import io.nats.client.api.StreamInfoOptions;
import io.nats.client.api.Subject;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code outboxkit status}: the slot, the offsets, the stream, its consumers, dead letters. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description = {
      "The relay's slot, offsets and lock, the stream, its consumers, dead letters.",
      "Shows the relay's replication slot (active, retained WAL, confirmed LSN), its stored"
          + " offsets and lock, the stream (messages, first/last, duplicate window), each durable"
          + " consumer (pending, redelivered, last active) and the dead letters per subject."
    })
final class StatusCommand implements Callable<Integer> {
  @Mixin CliOptions options;

  @Override
  public Integer call() throws Exception {
    try (CliSession s = new CliSession(options.settings())) {
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("relay", relay(s));
      Map<String, Object> stream = stream(s);
      result.put("stream", stream);
      boolean exists = Boolean.TRUE.equals(stream.get("exists"));
      result.put("consumers", exists ? consumers(s) : List.of());
      result.put(
          "deadLetters",
          exists ? deadLetterCounts(s, DeadLetterCommands.defaultFilter(s)) : Map.of());
      if (!options.printJson(result)) {
        print(options.out(), result);
      }
      return OutboxkitCli.OK;
    }
  }

  /** The slot, the relay's lock and its stored offset. */
  static Map<String, Object> relay(CliSession s) throws SQLException {
    Map<String, Object> r = new LinkedHashMap<>();
    RelaySettings st = s.settings;
    r.put("database", st.dbName());
    r.put("slot", st.slot());
    try (Connection c = s.db.connect()) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT active, active_pid, confirmed_flush_lsn::text, restart_lsn::text,"
                  + " pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, wal_status"
                  + " FROM pg_replication_slots WHERE slot_name = ?")) {
        ps.setString(1, st.slot());
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            Map<String, Object> slot = new LinkedHashMap<>();
            slot.put("exists", true);
            slot.put("active", rs.getBoolean(1));
            slot.put("activePid", rs.getObject(2));
            slot.put("confirmedLsn", rs.getString(3));
            slot.put("restartLsn", rs.getString(4));
            slot.put("retainedWalBytes", rs.getObject(5));
            slot.put("walStatus", rs.getString(6));
            r.put("slotState", slot);
          } else {
            r.put("slotState", Map.of("exists", false));
          }
        }
      }
      Integer holder = Leadership.holder(c, st.slot());
      r.put("lockHeldByPid", holder);
      r.put("offsets", RelayState.read(s, c).asMap());
    }
    return r;
  }

  static Map<String, Object> stream(CliSession s) throws Exception {
    JetStreamManagement jsm = s.jsm();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", s.stream());
    StreamInfo info;
    try {
      info = jsm.getStreamInfo(s.stream());
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() != 10059) {
        throw e;
      }
      m.put("exists", false);
      return m;
    }
    m.put("exists", true);
    m.put("subjects", info.getConfiguration().getSubjects());
    m.put("messages", info.getStreamState().getMsgCount());
    m.put("bytes", info.getStreamState().getByteCount());
    m.put("firstSeq", info.getStreamState().getFirstSequence());
    m.put("firstTime", String.valueOf(info.getStreamState().getFirstTime()));
    m.put("lastSeq", info.getStreamState().getLastSequence());
    m.put("lastTime", String.valueOf(info.getStreamState().getLastTime()));
    m.put("duplicateWindow", String.valueOf(info.getConfiguration().getDuplicateWindow()));
    m.put("replicas", info.getConfiguration().getReplicas());
    return m;
  }

  static List<Map<String, Object>> consumers(CliSession s) throws Exception {
    List<Map<String, Object>> out = new ArrayList<>();
    for (ConsumerInfo ci : s.jsm().getConsumers(s.stream())) {
      if (ci.getConsumerConfiguration().getDurable() == null) {
        continue; // ephemeral: the relay's and the CLI's own readers
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", ci.getName());
      m.put("filter", ci.getConsumerConfiguration().getFilterSubject());
      m.put("pending", ci.getNumPending());
      m.put("ackPending", ci.getNumAckPending());
      m.put("redelivered", ci.getRedelivered());
      m.put("deliveredSeq", ci.getDelivered().getStreamSequence());
      m.put("ackFloorSeq", ci.getAckFloor().getStreamSequence());
      m.put("lastActive", String.valueOf(ci.getDelivered().getLastActive()));
      out.add(m);
    }
    return out;
  }

  /** Messages per dead-letter subject under {@code filter}. */
  static Map<String, Long> deadLetterCounts(CliSession s, String filter)
      throws java.io.IOException, JetStreamApiException {
    StreamInfo info = s.jsm().getStreamInfo(s.stream(), StreamInfoOptions.filterSubjects(filter));
    Map<String, Long> counts = new java.util.TreeMap<>();
    List<Subject> subjects = info.getStreamState().getSubjects();
    if (subjects != null) {
      for (Subject sub : subjects) {
        counts.put(sub.getName(), sub.getCount());
      }
    }
    return counts;
  }

  @SuppressWarnings("unchecked")
  private static void print(PrintWriter out, Map<String, Object> r) {
    Map<String, Object> relay = (Map<String, Object>) r.get("relay");
    Map<String, Object> slot = (Map<String, Object>) relay.get("slotState");
    out.printf("Relay of database %s, slot %s%n", relay.get("database"), relay.get("slot"));
    if (Boolean.TRUE.equals(slot.get("exists"))) {
      out.printf(
          "  slot:     %s, confirmed LSN %s, retained WAL %s%n",
          Boolean.TRUE.equals(slot.get("active"))
              ? "active (pid " + slot.get("activePid") + ")"
              : "inactive",
          slot.get("confirmedLsn"),
          bytes(slot.get("retainedWalBytes")));
    } else {
      out.println("  slot:     missing");
    }
    out.printf(
        "  relay:    %s%n",
        relay.get("lockHeldByPid") == null
            ? "no relay holds the slot's lock (none running)"
            : "running (lock held by backend pid " + relay.get("lockHeldByPid") + ")");
    Map<String, Object> off = (Map<String, Object>) relay.get("offsets");
    out.printf(
        "  offsets:  %s%n",
        off.get("lsn") == null
            ? "none stored" + (off.get("problem") != null ? " (" + off.get("problem") + ")" : "")
            : "LSN " + off.get("lsn") + ", stored " + off.get("storedAt"));
    if (off.get("problem") != null && off.get("lsn") != null) {
      out.printf("  problem:  %s%n", off.get("problem"));
    }
    Map<String, Object> st = (Map<String, Object>) r.get("stream");
    if (!Boolean.TRUE.equals(st.get("exists"))) {
      out.printf(
          "Stream %s does not exist (the relay creates it at its first start; or check --stream)%n",
          st.get("name"));
      out.flush();
      return;
    }
    out.printf("Stream %s %s%n", st.get("name"), st.get("subjects"));
    out.printf(
        "  messages: %s (%s), sequences %s..%s%n",
        st.get("messages"), bytes(st.get("bytes")), st.get("firstSeq"), st.get("lastSeq"));
    out.printf("  first:    %s%n  last:     %s%n", st.get("firstTime"), st.get("lastTime"));
    out.printf("  duplicate window: %s%n", st.get("duplicateWindow"));
    List<Map<String, Object>> consumers = (List<Map<String, Object>>) r.get("consumers");
    out.printf("Durable consumers: %d%n", consumers.size());
    for (Map<String, Object> c : consumers) {
      out.printf(
          "  %-24s pending %s, ack pending %s, redelivered %s, last active %s%n",
          c.get("name"),
          c.get("pending"),
          c.get("ackPending"),
          c.get("redelivered"),
          c.get("lastActive"));
    }
    Map<String, Long> dl = (Map<String, Long>) r.get("deadLetters");
    out.printf("Dead letters: %d%n", dl.values().stream().mapToLong(Long::longValue).sum());
    dl.forEach((subject, n) -> out.printf("  %-32s %d%n", subject, n));
    out.flush();
  }

  private static String bytes(Object n) {
    if (!(n instanceof Number num)) {
      return "?";
    }
    long b = num.longValue();
    return b < 1024 * 1024 ? b + " B" : String.format("%.1f MB", b / 1048576.0);
  }
}
