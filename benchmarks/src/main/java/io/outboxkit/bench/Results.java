package io.outboxkit.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every figure of every run, and the medians the table shows. A row whose values spread by more
 * than {@link #NOISY} of their median across runs is flagged noisy.
 */
final class Results {
  static final double NOISY = 0.20;

  private final List<Rows.Row> rows;
  private final List<Map<String, EnumMap<Side, Double>>> values = new ArrayList<>();
  private final Map<String, List<String>> errors = new LinkedHashMap<>();
  private final List<Map<String, Map<String, Object>>> details = new ArrayList<>();
  private final List<ProfileOf> profiles = new ArrayList<>();
  private final List<StagesOf> stages = new ArrayList<>();

  /**
   * A profile of one relay's batched run ({@code --profile}).
   *
   * @param summary the top lists, or null when it could not be recorded
   * @param error why not, or null
   */
  record ProfileOf(int run, Side side, String workload, Profile.Summary summary, String error) {}

  /**
   * The relay's commit → stage percentiles through one workload ({@link StageHistograms}).
   *
   * @param figures by stage (pipeline order): count, then percentiles in ms
   */
  record StagesOf(int run, Side side, String workload, Map<String, Map<String, Double>> figures) {}

  Results(List<Rows.Row> rows) {
    this.rows = List.copyOf(rows);
  }

  List<Rows.Row> rows() {
    return rows;
  }

  synchronized void put(int run, String row, Side side, double v) {
    while (values.size() < run) {
      values.add(new LinkedHashMap<>());
    }
    values.get(run - 1).computeIfAbsent(row, r -> new EnumMap<>(Side.class)).put(side, v);
  }

  synchronized void error(int run, String row, Side side, String message) {
    errors
        .computeIfAbsent(row + "|" + side.label, k -> new ArrayList<>())
        .add("run " + run + ": " + message);
  }

  /** Extra facts for the JSON (percentiles by other clocks, writer rates, ...). */
  synchronized void detail(int run, Side side, String key, Object v) {
    while (details.size() < run) {
      details.add(new LinkedHashMap<>());
    }
    details.get(run - 1).computeIfAbsent(side.label, s -> new LinkedHashMap<>()).put(key, v);
  }

  synchronized List<Map<String, Map<String, Object>>> details() {
    return details;
  }

  synchronized List<String> errors(String row, Side side) {
    return errors.getOrDefault(row + "|" + side.label, List.of());
  }

  synchronized boolean hasErrors() {
    return !errors.isEmpty() || profiles.stream().anyMatch(p -> p.error() != null);
  }

  synchronized void profile(ProfileOf p) {
    profiles.add(p);
  }

  synchronized void stages(StagesOf s) {
    stages.add(s);
  }

  synchronized List<StagesOf> stages() {
    return List.copyOf(stages);
  }

  synchronized List<ProfileOf> profiles() {
    return List.copyOf(profiles);
  }

  /**
   * The figures of one row and side across runs.
   *
   * @param spread (max - min) / median; 0 with fewer than two values
   */
  record Stat(List<Double> values, double median, double min, double max, double spread) {
    boolean noisy() {
      return values.size() > 1 && spread > NOISY;
    }
  }

  /** Null when no run produced a value. */
  synchronized Stat stat(Rows.Row row, Side side) {
    String id = row.id();
    if (side.outboxkit() && row.peerOnlyVariant() != null) {
      id = row.peerOnlyVariant();
    }
    List<Double> vs = new ArrayList<>();
    for (Map<String, EnumMap<Side, Double>> run : values) {
      EnumMap<Side, Double> m = run.get(id);
      if (m != null && m.get(side) != null && !m.get(side).isNaN()) {
        vs.add(m.get(side));
      }
    }
    if (vs.isEmpty()) {
      return null;
    }
    List<Double> sorted = new ArrayList<>(vs);
    Collections.sort(sorted);
    int n = sorted.size();
    double median =
        n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    double min = sorted.get(0);
    double max = sorted.get(n - 1);
    double spread = n < 2 || median == 0 ? 0 : (max - min) / Math.abs(median);
    return new Stat(vs, median, min, max, spread);
  }

  Stat stat(String rowId, Side side) {
    return rows.stream()
        .filter(r -> r.id().equals(rowId))
        .findFirst()
        .map(r -> stat(r, side))
        .orElse(null);
  }

  /** The lowest median of the row's raw limits for outboxkit's table mode, or NaN. */
  double rawLimit(Rows.Row row) {
    return rawLimit(row, Side.OUTBOXKIT);
  }

  /** The lowest median of the raw limits that bound {@code side} in this row, or NaN. */
  double rawLimit(Rows.Row row, Side side) {
    double best = Double.NaN;
    for (String ref : row.rawRefs()) {
      Stat s = stat(Rows.rawRefFor(ref, side), Side.RAW);
      if (s != null && (Double.isNaN(best) || s.median() < best)) {
        best = s.median();
      }
    }
    return best;
  }
}
