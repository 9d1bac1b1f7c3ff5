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

/** The one table: printed as text, written as Markdown and JSON. */
final class Report {
  private final Results results;
  private final boolean peer;
  private final boolean raw;
  private final Map<String, Object> header;

  /**
   * @param header machine, versions, configuration and command: printed above the table and kept in
   *     the JSON
   */
  Report(Results results, boolean peer, Map<String, Object> header) {
    this.results = results;
    this.peer = peer;
    this.raw = results.rows().stream().anyMatch(Rows.Row::raw);
    this.header = header;
  }

  /** One rendered line of the table. */
  record Line(Rows.Row row, List<String> cells) {}

  List<String> columns() {
    List<String> c = new ArrayList<>(List.of("row", "unit", "outboxkit"));
    if (peer) {
      c.addAll(List.of("peer", "okit ÷ peer", "ahead"));
    }
    if (raw) {
      c.addAll(List.of("raw limit", "okit ÷ raw"));
    }
    c.add("notes");
    return c;
  }

  List<Line> lines() {
    List<Line> out = new ArrayList<>();
    for (Rows.Row r : results.rows()) {
      Results.Stat ok = r.raw() ? null : results.stat(r, Side.OUTBOXKIT);
      Results.Stat pe = peer && r.peer() ? results.stat(r, Side.PEER) : null;
      double rawLimit = r.raw() ? median(results.stat(r, Side.RAW)) : results.rawLimit(r);
      List<String> notes = new ArrayList<>();
      List<String> cells = new ArrayList<>(List.of(r.label(), r.unit()));
      cells.add(r.raw() ? "" : cell(r, ok, Side.OUTBOXKIT, notes));
      if (peer) {
        cells.add(r.peer() ? cell(r, pe, Side.PEER, notes) : "");
        double ratio = median(ok) / median(pe);
        cells.add(Double.isFinite(ratio) ? ratio(ratio) : "");
        cells.add(Double.isFinite(ratio) ? ahead(r, ratio) : "");
      }
      if (raw) {
        if (r.raw()) {
          cells.add(cell(r, results.stat(r, Side.RAW), Side.RAW, notes));
          cells.add("");
        } else {
          cells.add(Double.isNaN(rawLimit) ? "" : number(r.unit(), rawLimit));
          double ratio = median(ok) / rawLimit;
          cells.add(Double.isFinite(ratio) ? ratio(ratio) : "");
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
            r.peerOnlyVariant() != null && side == Side.OUTBOXKIT ? r.peerOnlyVariant() : r.id(),
            side);
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

  private static String ahead(Rows.Row r, double ratio) {
    if (Math.abs(ratio - 1) < 0.02) {
      return "even";
    }
    return (ratio > 1) == r.higherIsBetter() ? "outboxkit" : "peer";
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
      for (Side side : Side.values()) {
        if ((side == Side.RAW) != r.raw() || (side == Side.PEER && !(peer && r.peer()))) {
          continue;
        }
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
        if (side == Side.OUTBOXKIT && r.peerOnlyVariant() != null) {
          v.put("copied_from", r.peerOnlyVariant());
        }
        m.put(side.label, v);
      }
      if (!r.raw()) {
        double rawLimit = results.rawLimit(r);
        if (!Double.isNaN(rawLimit)) {
          m.put("raw_limit", rawLimit);
          m.put("raw_limit_of", r.rawRefs());
          m.put("ratio_outboxkit_raw", median(results.stat(r, Side.OUTBOXKIT)) / rawLimit);
        }
        if (peer && r.peer()) {
          double ratio =
              median(results.stat(r, Side.OUTBOXKIT)) / median(results.stat(r, Side.PEER));
          if (Double.isFinite(ratio)) {
            m.put("ratio_outboxkit_peer", ratio);
          }
        }
      }
      rows.add(m);
    }
    root.put("rows", rows);
    root.put("details", results.details());
    return root;
  }

  /** Writes {@code <stamp>.json} and {@code <stamp>.md}; returns their paths. */
  List<Path> write(Path dir, String stamp, String preamble) throws IOException {
    Files.createDirectories(dir);
    Path json = dir.resolve(stamp + ".json");
    Path md = dir.resolve(stamp + ".md");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), json());
    Files.writeString(md, preamble + "\n" + markdown(), StandardCharsets.UTF_8);
    return List.of(json, md);
  }
}
