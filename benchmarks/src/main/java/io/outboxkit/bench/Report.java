package io.outboxkit.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The one table: printed as text, written as Markdown and JSON. A column per outboxkit mode (table,
 * messages) and the peer, the ratios of each mode to the peer and to the raw limit that bounds it;
 * then the profiles ({@code --profile}).
 */
final class Report {
  private final Results results;
  private final boolean peer;
  private final boolean raw;
  private final List<Side> modes;
  private final boolean legacy;
  private final Map<String, Object> header;

  /**
   * @param modes outboxkit's sides measured ({@link BenchConfig#outboxkitSides()})
   * @param header machine, versions, configuration and command: printed above the table and kept in
   *     the JSON
   */
  Report(Results results, boolean peer, List<Side> modes, Map<String, Object> header) {
    this.results = results;
    this.peer = peer;
    this.raw = results.rows().stream().anyMatch(Rows.Row::raw);
    this.modes = List.copyOf(modes);
    // Table mode alone: the headings of the tables published before message mode.
    this.legacy = this.modes.equals(List.of(Side.OUTBOXKIT));
    this.header = header;
  }

  /** One rendered line of the table. */
  record Line(Rows.Row row, List<String> cells) {}

  private String heading(Side side) {
    return legacy ? "outboxkit" : side.heading;
  }

  private String ratioHeading(Side side, String of) {
    return (legacy ? "okit" : side.shortName) + " ÷ " + of;
  }

  private String rawHeading(Side side) {
    return modes.size() == 1 ? "raw limit" : "raw limit " + side.shortName;
  }

  List<String> columns() {
    List<String> c = new ArrayList<>(List.of("row", "unit"));
    modes.forEach(m -> c.add(heading(m)));
    if (peer) {
      c.add("peer");
      modes.forEach(m -> c.add(ratioHeading(m, "peer")));
      c.add("ahead");
    }
    if (raw) {
      for (Side m : modes) {
        c.add(rawHeading(m));
        c.add(ratioHeading(m, "raw"));
      }
    }
    c.add("notes");
    return c;
  }

  /** The mode whose raw-limit column shows a raw row's own figure. */
  private int rawColumnOf(Rows.Row r) {
    if (modes.size() == 1) {
      return 0;
    }
    int i = modes.indexOf(r.id().endsWith("_msg") ? Side.OUTBOXKIT_MESSAGES : Side.OUTBOXKIT);
    return Math.max(i, 0);
  }

  List<Line> lines() {
    List<Line> out = new ArrayList<>();
    for (Rows.Row r : results.rows()) {
      List<String> notes = new ArrayList<>();
      List<String> cells = new ArrayList<>(List.of(r.label(), r.unit()));
      Map<Side, Results.Stat> stats = new LinkedHashMap<>();
      for (Side m : modes) {
        Results.Stat s = r.raw() ? null : results.stat(r, m);
        stats.put(m, s);
        cells.add(r.raw() ? "" : cell(r, s, m, notes));
      }
      if (peer) {
        Results.Stat pe = r.peer() ? results.stat(r, Side.PEER) : null;
        cells.add(r.peer() ? cell(r, pe, Side.PEER, notes) : "");
        for (Side m : modes) {
          double ratio = median(stats.get(m)) / median(pe);
          cells.add(Double.isFinite(ratio) ? ratio(ratio) : "");
        }
        Map<Side, Double> medians = new LinkedHashMap<>();
        stats.forEach((m, s) -> medians.put(m, median(s)));
        medians.put(Side.PEER, median(pe));
        cells.add(ahead(r, medians));
      }
      if (raw) {
        for (int i = 0; i < modes.size(); i++) {
          Side m = modes.get(i);
          if (r.raw()) {
            cells.add(
                i == rawColumnOf(r) ? cell(r, results.stat(r, Side.RAW), Side.RAW, notes) : "");
            cells.add("");
          } else {
            double rawLimit = results.rawLimit(r, m);
            cells.add(Double.isNaN(rawLimit) ? "" : number(r.unit(), rawLimit));
            double ratio = median(stats.get(m)) / rawLimit;
            cells.add(Double.isFinite(ratio) ? ratio(ratio) : "");
          }
        }
      }
      if (r.peerOnlyVariant() != null) {
        notes.add("outboxkit figure repeated from its paced run");
      }
      cells.add(String.join("; ", notes));
      out.add(new Line(r, cells));
    }
    return out;
  }

  private String cell(Rows.Row r, Results.Stat s, Side side, List<String> notes) {
    List<String> errs =
        results.errors(
            r.peerOnlyVariant() != null && side.outboxkit() ? r.peerOnlyVariant() : r.id(), side);
    if (!errs.isEmpty()) {
      String e = errs.get(0);
      notes.add(side.label + " failed: " + (e.length() > 140 ? e.substring(0, 140) + "…" : e));
    }
    if (s == null) {
      return errs.isEmpty() ? "n/a" : "ERR";
    }
    if (s.noisy()) {
      notes.add(
          String.format(
              Locale.ROOT,
              "noisy: %s spread %.0f%% over %d runs",
              side.label,
              s.spread() * 100,
              s.values().size()));
    }
    return number(r.unit(), s.median()) + (s.noisy() ? " ~" : "");
  }

  private static double median(Results.Stat s) {
    return s == null ? Double.NaN : s.median();
  }

  /**
   * Who is best in this row (higher throughput, lower latency/memory/time); "even" when the best
   * two lie within 2 %; empty with fewer than two figures.
   */
  String ahead(Rows.Row r, Map<Side, Double> medians) {
    List<Map.Entry<Side, Double>> known =
        medians.entrySet().stream()
            .filter(e -> Double.isFinite(e.getValue()))
            .sorted(
                (a, b) ->
                    r.higherIsBetter()
                        ? Double.compare(b.getValue(), a.getValue())
                        : Double.compare(a.getValue(), b.getValue()))
            .toList();
    if (known.size() < 2) {
      return "";
    }
    double best = known.get(0).getValue();
    double second = known.get(1).getValue();
    if (best == second || Math.abs(best / second - 1) < 0.02) {
      return "even";
    }
    Side s = known.get(0).getKey();
    return legacy || s == Side.PEER ? s.label : s.shortName;
  }

  static String ratio(double v) {
    return v >= 100
        ? String.format(Locale.ROOT, "%.0f×", v)
        : String.format(Locale.ROOT, "%.2f×", v);
  }

  static String number(String unit, double v) {
    return switch (unit) {
      case "events/s", "rows/s", "msg/s", "MB" -> String.format(Locale.ROOT, "%,.0f", v);
      case "ms" ->
          v < 10
              ? String.format(Locale.ROOT, "%.2f", v)
              : v < 100
                  ? String.format(Locale.ROOT, "%.1f", v)
                  : String.format(Locale.ROOT, "%,.0f", v);
      default -> String.format(Locale.ROOT, "%.1f", v);
    };
  }

  /** Fixed-width text for the terminal. */
  String text() {
    List<String> cols = columns();
    List<Line> lines = lines();
    int[] w = new int[cols.size()];
    for (int i = 0; i < cols.size(); i++) {
      w[i] = cols.get(i).length();
    }
    for (Line l : lines) {
      for (int i = 0; i < l.cells().size() - 1; i++) {
        w[i] = Math.max(w[i], l.cells().get(i).length());
      }
    }
    StringBuilder sb = new StringBuilder();
    appendRow(sb, cols, w);
    StringBuilder rule = new StringBuilder();
    for (int i = 0; i < cols.size() - 1; i++) {
      rule.append("-".repeat(w[i])).append("  ");
    }
    sb.append(rule.toString().stripTrailing()).append('\n');
    for (Line l : lines) {
      appendRow(sb, l.cells(), w);
    }
    return sb.toString();
  }

  private static void appendRow(StringBuilder sb, List<String> cells, int[] w) {
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      String c = cells.get(i);
      if (i == cells.size() - 1) {
        line.append(c);
      } else if (i <= 1) {
        line.append(String.format("%-" + w[i] + "s  ", c));
      } else {
        line.append(String.format("%" + w[i] + "s  ", c));
      }
    }
    sb.append(line.toString().stripTrailing()).append('\n');
  }

  String markdown() {
    StringBuilder sb = new StringBuilder();
    sb.append("| ").append(String.join(" | ", columns())).append(" |\n");
    sb.append("|");
    for (int i = 0; i < columns().size(); i++) {
      sb.append(i <= 1 || i == columns().size() - 1 ? "---|" : "---:|");
    }
    sb.append('\n');
    for (Line l : lines()) {
      sb.append("| ")
          .append(String.join(" | ", l.cells().stream().map(c -> c.replace("|", "\\|")).toList()))
          .append(" |\n");
    }
    return sb.toString();
  }

  Map<String, Object> json() {
    Map<String, Object> root = new LinkedHashMap<>(header);
    List<Object> rows = new ArrayList<>();
    for (Rows.Row r : results.rows()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", r.id());
      m.put("label", r.label());
      m.put("unit", r.unit());
      m.put("higher_is_better", r.higherIsBetter());
      List<Side> sides = new ArrayList<>();
      if (r.raw()) {
        sides.add(Side.RAW);
      } else {
        sides.addAll(modes);
        if (peer && r.peer()) {
          sides.add(Side.PEER);
        }
      }
      for (Side side : sides) {
        Results.Stat s = results.stat(r, side);
        Map<String, Object> v = new LinkedHashMap<>();
        if (s != null) {
          v.put("median", s.median());
          v.put("min", s.min());
          v.put("max", s.max());
          v.put("spread", s.spread());
          v.put("noisy", s.noisy());
          v.put("runs", s.values());
        }
        List<String> errs = results.errors(r.id(), side);
        if (!errs.isEmpty()) {
          v.put("errors", errs);
        }
        if (side.outboxkit() && r.peerOnlyVariant() != null) {
          v.put("copied_from", r.peerOnlyVariant());
        }
        m.put(side.label, v);
      }
      if (!r.raw()) {
        for (Side side : modes) {
          // Table mode keeps the keys of the tables published before message mode.
          String suffix = side == Side.OUTBOXKIT ? "" : "_" + side.label;
          double okit = median(results.stat(r, side));
          double rawLimit = results.rawLimit(r, side);
          if (!Double.isNaN(rawLimit)) {
            m.put("raw_limit" + suffix, rawLimit);
            m.put(
                "raw_limit" + suffix + "_of",
                r.rawRefs().stream().map(ref -> Rows.rawRefFor(ref, side)).toList());
            m.put("ratio_" + side.label + "_raw", okit / rawLimit);
          }
          if (peer && r.peer()) {
            double ratio = okit / median(results.stat(r, Side.PEER));
            if (Double.isFinite(ratio)) {
              m.put("ratio_" + side.label + "_peer", ratio);
            }
          }
        }
      }
      rows.add(m);
    }
    root.put("rows", rows);
    root.put("details", results.details());
    List<Object> profiles = new ArrayList<>();
    for (Results.ProfileOf p : results.profiles()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("run", p.run());
      m.put("side", p.side().label);
      m.put("workload", p.workload());
      if (p.summary() != null) {
        m.putAll(p.summary().json());
      } else {
        m.put("error", p.error());
      }
      profiles.add(m);
    }
    if (!profiles.isEmpty()) {
      root.put("profiles", profiles);
    }
    return root;
  }

  /**
   * The relay's commit → stage percentiles per workload ({@link StageHistograms}) as a Markdown
   * table, or "" when there are none.
   */
  String stagesText() {
    List<Results.StagesOf> all = results.stages();
    if (all.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    sb.append(
        "Where the latency grows inside outboxkit's relay: commit → each stage, from the relay's"
            + " own histograms (outboxkit_relay_stage_lag_seconds, outboxkit_relay_lag_seconds;"
            + " bucket bounds 10-40 % apart). decoded = Debezium queued the change, dequeued ="
            + " the engine took it from the queue, batched = the relay's handler got it, acked ="
            + " JetStream acked it.\n\n");
    sb.append("| run | relay | workload | stage | count | p50 ms | p99 ms | p99.9 ms |\n");
    sb.append("|---|---|---|---|---:|---:|---:|---:|\n");
    for (Results.StagesOf st : all) {
      st.figures()
          .forEach(
              (stage, f) ->
                  sb.append("| ")
                      .append(st.run())
                      .append(" | ")
                      .append(st.side().heading)
                      .append(" | ")
                      .append(st.workload())
                      .append(" | ")
                      .append(stage)
                      .append(" | ")
                      .append(String.format(java.util.Locale.ROOT, "%,.0f", f.get("count")))
                      .append(" | ")
                      .append(ms(f.get("p50")))
                      .append(" | ")
                      .append(ms(f.get("p99")))
                      .append(" | ")
                      .append(ms(f.get("p99.9")))
                      .append(" |\n"));
    }
    return sb.toString();
  }

  private static String ms(Double v) {
    return v == null ? "" : String.format(java.util.Locale.ROOT, v < 10 ? "%.2f" : "%,.1f", v);
  }

  /** The profiles ({@code --profile}) as text, or "" when there are none. */
  String profilesText() {
    List<Results.ProfileOf> all = results.profiles();
    if (all.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    sb.append(
        "Profiles of the relay, JFR settings=profile (execution samples every 10 ms of each"
            + " thread running Java code), top "
            + Workloads.PROFILE_TOP
            + ":\n");
    for (Results.ProfileOf p : all) {
      sb.append('\n')
          .append("run ")
          .append(p.run())
          .append(' ')
          .append(p.side().heading)
          .append(", ")
          .append(p.workload())
          .append(" run: ");
      sb.append(p.summary() != null ? p.summary().text() : "FAILED: " + p.error() + "\n");
    }
    return sb.toString();
  }

  /** Writes {@code <stamp>.json} and {@code <stamp>.md}; returns their paths. */
  List<Path> write(Path dir, String stamp, String preamble) throws IOException {
    Files.createDirectories(dir);
    Path json = dir.resolve(stamp + ".json");
    Path md = dir.resolve(stamp + ".md");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), json());
    String profiles = profilesText();
    String stages = stagesText();
    Files.writeString(
        md,
        preamble
            + "\n"
            + markdown()
            + (stages.isEmpty() ? "" : "\n" + stages)
            + (profiles.isEmpty() ? "" : "\n```\n" + profiles + "```\n"),
        StandardCharsets.UTF_8);
    return List.of(json, md);
  }
}
