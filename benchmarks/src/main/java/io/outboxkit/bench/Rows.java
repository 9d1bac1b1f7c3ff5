package io.outboxkit.bench;

import io.outboxkit.bench.BenchConfig.Workload;
import java.util.ArrayList;
import java.util.List;

/** The rows of the table, in order, for a configuration. */
final class Rows {
  private Rows() {}

  /**
   * One row.
   *
   * @param id stable key (JSON, tests)
   * @param unit events/s, ms, MB, ...
   * @param higherIsBetter throughput rows; false for latency, memory, time
   * @param raw whether the row is a raw limit (a RAW value, no relay)
   * @param rawRefs raw-limit rows this row is compared with (the lowest of them; message mode's
   *     counterparts for message mode, {@link #rawRefFor})
   * @param peer whether the peer has a figure in this row
   * @param peerOnlyVariant the outboxkit figure is copied from this row (peer-variant rows)
   */
  record Row(
      String id,
      String label,
      String unit,
      boolean higherIsBetter,
      boolean raw,
      List<String> rawRefs,
      boolean peer,
      String peerOnlyVariant) {}

  static List<Row> of(BenchConfig c) {
    List<Row> rows = new ArrayList<>();
    boolean peer = c.withPeer();
    String k = thousands(c.events());
    if (c.runs(Workload.RAW)) {
      rows.add(raw("raw.pg_single", "PostgreSQL alone: single-row tx, 8 writers", "rows/s"));
      rows.add(raw("raw.pg_batch", "PostgreSQL alone: 500 rows/tx, 2 writers", "rows/s"));
      if (c.runs(BenchConfig.Mode.MESSAGE)) {
        rows.add(
            raw(
                "raw.pg_single_msg",
                "PostgreSQL alone, WAL messages: single-message tx, 8 writers",
                "events/s"));
        rows.add(
            raw(
                "raw.pg_batch_msg",
                "PostgreSQL alone, WAL messages: 500 events/tx, 2 writers"
                    + (c.eventsPerMessage() > 1
                        ? ", " + c.eventsPerMessage() + " events per message"
                        : ", one message per event"),
                "events/s"));
      }
      rows.add(
          raw(
              "raw.js",
              "JetStream async publish from Java (200 B, file, Msg-Id, 4000 in flight)",
              "msg/s"));
    }
    if (!c.runsRelays()) {
      return rows;
    }
    rows.add(row("start.ready_ms", "Start → ready (first start)", "ms", false, List.of(), peer));
    rows.add(row("rss.idle_mb", "RSS idle after start", "MB", false, List.of(), peer));
    rows.add(
        row(
            "cpu.idle_pct",
            "CPU just after ready (1–4 s, idle)",
            "% core",
            false,
            List.of(),
            peer));
    if (c.runs(Workload.BATCHED)) {
      rows.add(
          row(
              "batched.rate",
              "Batched " + k + " (500 rows/tx, 2 writers): first insert → last ack",
              "events/s",
              true,
              refs(c, "raw.pg_batch", "raw.js"),
              peer));
      rows.add(
          row(
              "rss.peak_mb",
              "Peak RSS (VmHWM) through the batched run",
              "MB",
              false,
              List.of(),
              peer));
      rows.add(
          row(
              "cpu.batched_us",
              "CPU per event, batched run (user+sys)",
              "µs",
              false,
              List.of(),
              peer));
    }
    if (c.runs(Workload.SINGLE)) {
      String s = "8 single-row writers, " + c.singleDuration().toSeconds() + " s: ";
      rows.add(
          row(
              "single.offered",
              s + "offered (committed)",
              "events/s",
              true,
              refs(c, "raw.pg_single"),
              peer));
      rows.add(
          row(
              "single.relayed",
              s + "relayed (first insert → last ack)",
              "events/s",
              true,
              refs(c, "raw.pg_single"),
              peer));
      rows.add(
          row("single.lag_p50", s + "lag commit → received p50", "ms", false, List.of(), peer));
      rows.add(
          row("single.lag_p99", s + "lag commit → received p99", "ms", false, List.of(), peer));
    }
    if (c.runs(Workload.LATENCY)) {
      for (int rate : c.rates()) {
        latencyRows(
            rows, "lat" + rate, "Paced " + thousands(rate) + "/s", peer, null, c.consumers());
      }
    }
    if (peer && c.runs(Workload.PEER_DEFAULT_POLL) && c.runs(Workload.LATENCY)) {
      int rate = c.rates().get(0);
      latencyRows(
          rows,
          "lat" + rate + "d",
          "Paced " + thousands(rate) + "/s, peer at default poll 500 ms",
          true,
          "lat" + rate,
          c.consumers());
    }
    rows.add(
        row(
            "cpu.idle_after_pct",
            "CPU idle after the workloads (5 s)",
            "% core",
            false,
            List.of(),
            peer));
    if (c.runs(Workload.DRAIN)) {
      rows.add(
          row(
              "drain.rate",
              "Backlog drain " + k + ": process start → last ack",
              "events/s",
              true,
              refs(c, "raw.js"),
              peer));
      rows.add(row("drain.seconds", "Backlog drain " + k + ": time", "s", false, List.of(), peer));
      rows.add(
          row(
              "start.restart_ms",
              "Start → ready (restart on a backlog)",
              "ms",
              false,
              List.of(),
              peer));
    }
    return rows;
  }

  private static void latencyRows(
      List<Row> rows, String id, String label, boolean peer, String copyFrom, int consumers) {
    if (copyFrom == null) {
      rows.add(
          row(id + ".offered", label + ": offered (achieved)", "events/s", true, List.of(), peer));
    }
    rows.add(
        new Row(
            id + ".applied_rate",
            label + ": consumers' apply rate (" + consumers + " OutboxConsumer instances)",
            "events/s",
            true,
            false,
            List.of(),
            peer,
            copyFrom == null ? null : copyFrom + ".applied_rate"));
    for (String what : List.of("ack", "applied")) {
      String desc =
          what.equals("ack") ? "commit → JetStream (received)" : "commit → consumer applied";
      for (String[] p :
          new String[][] {{"p50", "p50"}, {"p99", "p99"}, {"p999", "p99.9"}, {"max", "max"}}) {
        rows.add(
            new Row(
                id + "." + what + "_" + p[0],
                label + ": " + desc + " " + p[1],
                "ms",
                false,
                false,
                List.of(),
                peer,
                copyFrom == null ? null : copyFrom + "." + what + "_" + p[0]));
      }
    }
  }

  /**
   * The raw limit that bounds {@code side} where the row names {@code ref}: in message mode the
   * writers' limits are those of WAL messages, not of INSERTs.
   */
  static String rawRefFor(String ref, Side side) {
    if (side == Side.OUTBOXKIT_MESSAGES
        && (ref.equals("raw.pg_single") || ref.equals("raw.pg_batch"))) {
      return ref + "_msg";
    }
    return ref;
  }

  private static List<String> refs(BenchConfig c, String... ids) {
    return c.runs(Workload.RAW) ? List.of(ids) : List.of();
  }

  private static Row raw(String id, String label, String unit) {
    return new Row(id, label, unit, true, true, List.of(), false, null);
  }

  private static Row row(
      String id, String label, String unit, boolean higher, List<String> refs, boolean peer) {
    return new Row(id, label, unit, higher, false, refs, peer, null);
  }

  static String thousands(long n) {
    if (n % 1000 == 0 && n >= 1000) {
      return (n / 1000) + "k";
    }
    return Long.toString(n);
  }
}
