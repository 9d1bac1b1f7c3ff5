package io.outboxkit.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The relay's own commit → stage histograms ({@code outboxkit_relay_stage_lag_seconds{stage}} and
 * {@code outboxkit_relay_lag_seconds}, Prometheus buckets), scraped before and after a workload:
 * the difference of the cumulative bucket counts is what that workload recorded, and its
 * percentiles (interpolated within a bucket, so as exact as Micrometer's buckets: neighbouring
 * bounds are 10–40 % apart) say where in the relay the latency grows. Stages, in pipeline order:
 * {@code decoded} (Debezium queued the change), {@code dequeued} (the engine took it from the
 * queue), {@code batched} (the relay's batch handler got it), {@code acked} (JetStream acked it).
 * The first three also count the relay's own checkpoints and heartbeats (a few per second); {@code
 * acked} only events.
 */
final class StageHistograms {
  static final List<String> STAGES = List.of("decoded", "dequeued", "batched", "acked");

  private static final Pattern BUCKET =
      Pattern.compile("(?m)^outboxkit_relay_(stage_lag|lag)_seconds_bucket\\{([^}]*)\\} (\\S+)");
  private static final Pattern STAGE = Pattern.compile("stage=\"(\\w+)\"");
  private static final Pattern LE = Pattern.compile("le=\"([^\"]+)\"");
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** Cumulative counts by stage, then by upper bound in seconds (+Inf last). */
  record Snapshot(Map<String, TreeMap<Double, Double>> buckets) {}

  private StageHistograms() {}

  /** Scrapes {@code url}; an empty snapshot when it cannot (the figures then say so). */
  static Snapshot scrape(String url) {
    Map<String, TreeMap<Double, Double>> buckets = new LinkedHashMap<>();
    if (url == null) {
      return new Snapshot(buckets);
    }
    String body;
    try {
      body =
          HTTP.send(
                  HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
    } catch (java.io.IOException e) {
      return new Snapshot(buckets);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Snapshot(buckets);
    }
    return parse(body);
  }

  static Snapshot parse(String prometheus) {
    Map<String, TreeMap<Double, Double>> buckets = new LinkedHashMap<>();
    Matcher m = BUCKET.matcher(prometheus);
    while (m.find()) {
      String stage = "acked";
      if (m.group(1).equals("stage_lag")) {
        Matcher s = STAGE.matcher(m.group(2));
        if (!s.find()) {
          continue;
        }
        stage = s.group(1);
      }
      Matcher le = LE.matcher(m.group(2));
      if (le.find()) {
        double bound =
            le.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le.group(1));
        buckets
            .computeIfAbsent(stage, k -> new TreeMap<>())
            .put(bound, Double.parseDouble(m.group(3)));
      }
    }
    return new Snapshot(buckets);
  }

  /**
   * What was recorded between two snapshots: per stage (pipeline order), count and the {@code
   * quantiles} in milliseconds; a stage without records between them is left out.
   */
  static Map<String, Map<String, Double>> between(
      Snapshot before, Snapshot after, double... quantiles) {
    Map<String, Map<String, Double>> out = new LinkedHashMap<>();
    for (String stage : STAGES) {
      TreeMap<Double, Double> a = after.buckets().get(stage);
      if (a == null || a.isEmpty()) {
        continue;
      }
      TreeMap<Double, Double> b = before.buckets().getOrDefault(stage, new TreeMap<>());
      TreeMap<Double, Double> delta = new TreeMap<>();
      a.forEach((le, count) -> delta.put(le, count - b.getOrDefault(le, 0.0)));
      double total = delta.lastEntry().getValue();
      if (total <= 0) {
        continue;
      }
      Map<String, Double> figures = new LinkedHashMap<>();
      figures.put("count", total);
      for (double q : quantiles) {
        figures.put(label(q), quantileMillis(delta, total, q));
      }
      out.put(stage, figures);
    }
    return out;
  }

  /** "p50", "p99", "p99.9". */
  static String label(double q) {
    String s = Double.toString(Math.round(q * 1000) / 10.0);
    return "p" + (s.endsWith(".0") ? s.substring(0, s.length() - 2) : s);
  }

  /** Linear within the bucket that holds the quantile; the last finite bound if it is in +Inf. */
  private static double quantileMillis(TreeMap<Double, Double> cumulative, double total, double q) {
    double rank = q * total;
    double lower = 0;
    double below = 0;
    for (Map.Entry<Double, Double> e : cumulative.entrySet()) {
      double upper = e.getKey();
      double count = e.getValue();
      if (count >= rank) {
        if (Double.isInfinite(upper)) {
          return lower * 1000;
        }
        double inBucket = count - below;
        double fraction = inBucket <= 0 ? 1 : (rank - below) / inBucket;
        return (lower + (upper - lower) * fraction) * 1000;
      }
      lower = Double.isInfinite(upper) ? lower : upper;
      below = count;
    }
    return lower * 1000;
  }
}
