package io.outboxkit.bench;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.outboxkit.bench.BenchConfig.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sequence of workloads run against one relay ({@link Target}) in one run: start, idle, batched
 * load, single-row load, paced latency runs, backlog drain (stop, write, start) and, for the peer,
 * a paced run at its default poll interval. A workload that fails records an error in its rows; the
 * sequence goes on while the relay process lives.
 */
final class Workloads {
  private static final Logger log = LoggerFactory.getLogger("bench");

  private final BenchConfig cfg;
  private final Results results;
  private final int run;
  private final Connection probeNats;
  private final Connection consumerNats;
  private final JetStreamManagement jsm;
  private Target t;
  private Side side;

  Workloads(
      BenchConfig cfg,
      Results results,
      int run,
      Connection probeNats,
      Connection consumerNats,
      JetStreamManagement jsm) {
    this.cfg = cfg;
    this.results = results;
    this.run = run;
    this.probeNats = probeNats;
    this.consumerNats = consumerNats;
    this.jsm = jsm;
  }

  /** Runs the sequence against {@code target} and closes it. */
  void runAll(Target target) {
    this.t = target;
    this.side = target.side();
    try (target) {
      List<String> startRows = List.of("start.ready_ms", "rss.idle_mb", "cpu.idle_pct");
      if (!step("start", startRows, this::startAndIdle)) {
        failRemaining("the relay did not start");
        return;
      }
      if (cfg.runs(Workload.BATCHED)) {
        step("batched", List.of("batched.rate", "rss.peak_mb", "cpu.batched_us"), this::batched);
      }
      if (cfg.runs(Workload.SINGLE) && t.alive()) {
        step(
            "single",
            List.of("single.offered", "single.relayed", "single.lag_p50", "single.lag_p99"),
            this::single);
      }
      if (cfg.runs(Workload.LATENCY)) {
        for (int rate : cfg.rates()) {
          if (t.alive()) {
            String id = "lat" + rate;
            step(id, latencyRows(id), () -> latency(rate, id, cfg.peerPollMs()));
          }
        }
      }
      if (t.alive()) {
        step("idle", List.of("cpu.idle_after_pct"), this::idleAfter);
      }
      if (cfg.runs(Workload.DRAIN) && t.alive()) {
        step("drain", List.of("drain.rate", "drain.seconds", "start.restart_ms"), this::drain);
      }
      if (side == Side.PEER
          && cfg.runs(Workload.PEER_DEFAULT_POLL)
          && cfg.runs(Workload.LATENCY)
          && t.alive()) {
        int rate = cfg.rates().get(0);
        String id = "lat" + rate + "d";
        step(
            id,
            latencyRows(id),
            () -> {
              t.stop();
              t.start(cfg.peerDefaultPollMs());
              latency(rate, id, cfg.peerDefaultPollMs());
            });
      }
    } finally {
      this.t = null;
    }
  }

  private boolean step(String name, List<String> rows, Runnable body) {
    long t0 = System.nanoTime();
    log.info("run {} {}: {}", run, side.label, name);
    try {
      body.run();
      log.info(
          "run {} {}: {} done in {} s",
          run,
          side.label,
          name,
          (System.nanoTime() - t0) / 1_000_000_000);
      return true;
    } catch (RuntimeException e) {
      String msg = e.getMessage() == null ? e.toString() : e.getMessage();
      log.error("run {} {}: {} failed: {}", run, side.label, name, msg);
      for (String r : rows) {
        results.error(run, r, side, name + ": " + firstLine(msg));
      }
      if (!t.alive()) {
        log.error(
            "run {} {}: the relay is not running any more; log: {}", run, side.label, t.log());
      }
      return false;
    }
  }

  private void failRemaining(String why) {
    log.error("run {} {}: skipping its workloads ({})", run, side.label, why);
    for (Rows.Row r : results.rows()) {
      if (!r.raw() && !r.id().startsWith("start.ready") && (side != Side.PEER || r.peer())) {
        results.error(run, r.id(), side, why);
      }
    }
  }

  private void startAndIdle() {
    t.prepare();
    Target.Started s = t.start(cfg.peerPollMs());
    put("start.ready_ms", s.readyMillis());
    Clock.sleep(1000);
    ProcStats a = ProcStats.read(s.pid());
    Clock.sleep(3000);
    ProcStats b = ProcStats.read(s.pid());
    put("cpu.idle_pct", (b.cpuTicks() - a.cpuTicks()) / ProcStats.TICKS_PER_SECOND / 3.0 * 100);
    put("rss.idle_mb", b.rssKb() / 1024.0);
  }

  /** CPU of the idle relay once the workloads are over (heartbeats, polling, timers). */
  private void idleAfter() {
    Clock.sleep(2000);
    ProcStats a = ProcStats.read(t.pid());
    Clock.sleep(5000);
    ProcStats b = ProcStats.read(t.pid());
    put(
        "cpu.idle_after_pct",
        (b.cpuTicks() - a.cpuTicks()) / ProcStats.TICKS_PER_SECOND / 5.0 * 100);
    detail("idle_after.rss_mb", b.rssKb() / 1024.0);
  }

  private void batched() {
    String agg = "batch";
    long pid = t.pid();
    // Started before the CPU is read, so that JFR's own start-up is not counted.
    Profile.Recording recording = cfg.profile() ? startProfile(pid) : null;
    ProcStats before = ProcStats.read(pid);
    Load.Written w;
    StreamWatch.Completion c;
    long maxRss;
    try (ProcStats.RssSampler sampler = new ProcStats.RssSampler(pid)) {
      w =
          Load.batched(
              t.dataSource(), t.writer(), agg, cfg.events(), cfg.rowsPerTx(), cfg.batchWriters());
      c =
          StreamWatch.await(
              jsm,
              t.stream(),
              t.subject(agg),
              cfg.events(),
              cfg.stallTimeout(),
              Duration.ofMinutes(30));
      maxRss = sampler.maxRssKb();
    }
    ProcStats after = ProcStats.read(pid);
    if (recording != null) {
      stopProfile(recording);
    }
    double seconds = (c.lastStoredMicros() - w.startMicros()) / 1e6;
    put("batched.rate", cfg.events() / seconds);
    put("rss.peak_mb", Math.max(after.hwmKb(), maxRss) / 1024.0);
    put(
        "cpu.batched_us",
        (after.cpuTicks() - before.cpuTicks()) * 1e6 / ProcStats.TICKS_PER_SECOND / cfg.events());
    detail("batched.write_rate", w.rate());
    detail("batched.seconds", seconds);
    detail("batched.rss_sampled_max_mb", maxRss / 1024.0);
    detail("batched.rss_after_mb", after.rssKb() / 1024.0);
  }

  /** Top entries of each list of a profile. */
  static final int PROFILE_TOP = 15;

  private Profile.Recording startProfile(long pid) {
    String name = t.log().getFileName().toString().replaceFirst("\\.log$", "");
    Path file = t.log().resolveSibling(name + "-batched.jfr");
    try {
      return Profile.Recording.start(pid, file, t.log().resolveSibling(name + "-jcmd.log"));
    } catch (RuntimeException e) {
      profileFailed(e);
      return null;
    }
  }

  private void stopProfile(Profile.Recording recording) {
    try {
      Profile.Summary s = recording.stop(PROFILE_TOP);
      results.profile(new Results.ProfileOf(run, side, "batched", s, null));
      detail("batched.profile", s.json());
      detail("batched.profile_file", recording.file().toString());
      log.info("run {} {}: profile of the batched run ({})", run, side.label, recording.file());
    } catch (RuntimeException e) {
      profileFailed(e);
    }
  }

  private void profileFailed(RuntimeException e) {
    String msg = e.getMessage() == null ? e.toString() : e.getMessage();
    log.error("run {} {}: no profile of the batched run: {}", run, side.label, msg);
    results.profile(new Results.ProfileOf(run, side, "batched", null, firstLine(msg)));
  }

  private void single() {
    String agg = "single";
    StageHistograms.Snapshot before = StageHistograms.scrape(t.prometheusUrl());
    try (DeliveryProbe probe =
        new DeliveryProbe(probeNats, t.stream(), t.subject(agg), t.clock(), new AtomicLong(0))) {
      Load.Written w =
          Load.singleRows(
              t.dataSource(), t.writer(), agg, cfg.singleWriters(), cfg.singleDuration());
      probe.await(w.rows(), cfg.stallTimeout(), Duration.ofMinutes(20), "single-row load");
      put("single.offered", w.rate());
      put("single.relayed", w.rows() / ((probe.lastStoredMicros() - w.startMicros()) / 1e6));
      Latency.Percentiles lag = probe.received();
      put("single.lag_p50", lag.p50());
      put("single.lag_p99", lag.p99());
      detail("single.rows", w.rows());
      detail("single.lag_received", lag);
      detail("single.lag_stored", probe.stored());
      stages("single", before);
    }
  }

  /** The relay's commit → stage percentiles recorded since {@code before} (outboxkit only). */
  private void stages(String workload, StageHistograms.Snapshot before) {
    if (t.prometheusUrl() == null) {
      return;
    }
    var figures =
        StageHistograms.between(
            before, StageHistograms.scrape(t.prometheusUrl()), 0.5, 0.99, 0.999);
    if (figures.isEmpty()) {
      log.warn("run {} {} {}: the relay's stage histograms could not be read", run, side, workload);
      return;
    }
    results.stages(new Results.StagesOf(run, side, workload, figures));
    detail(workload + ".stages", figures);
  }

  private void latency(int rate, String id, int pollMs) {
    String agg = id;
    Duration total = cfg.latencyWarmup().plus(cfg.latencyDuration());
    // Set when the writers start: events committed during the warm-up are counted, not timed.
    AtomicLong measureFrom = new AtomicLong(Long.MAX_VALUE);
    long warmupMicros = cfg.latencyWarmup().toNanos() / 1000;
    StageHistograms.Snapshot before = StageHistograms.scrape(t.prometheusUrl());
    try (DeliveryProbe probe =
            new DeliveryProbe(probeNats, t.stream(), t.subject(agg), t.clock(), measureFrom);
        ApplyProbe apply =
            new ApplyProbe(
                consumerNats,
                t.jdbi(cfg.consumers() + 1),
                t.stream(),
                t.subject(agg),
                "bench_" + id,
                t.deadLetterSubject(),
                t.inbox(),
                t.effectTable(),
                t.clock(),
                measureFrom,
                cfg.consumers())) {
      Load.Written w =
          Load.paced(
              t.dataSource(),
              t.writer(),
              agg,
              rate,
              total,
              cfg.pacedWriters(),
              start -> measureFrom.set(start + warmupMicros));
      Duration max = Duration.ofMinutes(20);
      probe.await(w.rows(), cfg.stallTimeout(), max, id);
      apply.await(w.rows(), cfg.stallTimeout(), max, id);
      put(id + ".offered", w.rate());
      put(id + ".applied_rate", apply.rate());
      Latency.Percentiles ack = probe.received();
      Latency.Percentiles applied = apply.applied();
      putPercentiles(id + ".ack", ack);
      putPercentiles(id + ".applied", applied);
      detail(id + ".rows", w.rows());
      detail(id + ".poll_ms", side == Side.PEER ? pollMs : null);
      detail(id + ".writer_max_late_ms", w.maxLateMicros() / 1000.0);
      detail(id + ".ack_received", ack);
      detail(id + ".ack_stored", probe.stored());
      if (t.clock() == CommitClock.HEADER) {
        detail(id + ".ack_received_payload_clock", probe.receivedPayloadClock());
      }
      detail(id + ".applied", applied);
      stages(id, before);
    }
  }

  private void drain() {
    String agg = "drain";
    t.stop();
    Load.Written w =
        Load.batched(
            t.dataSource(), t.writer(), agg, cfg.events(), cfg.rowsPerTx(), cfg.batchWriters());
    Target.Started s = t.start(cfg.peerPollMs());
    StreamWatch.Completion c =
        StreamWatch.await(
            jsm,
            t.stream(),
            t.subject(agg),
            cfg.events(),
            cfg.stallTimeout(),
            Duration.ofMinutes(30));
    double seconds = (c.lastStoredMicros() - s.launchMicros()) / 1e6;
    put("drain.rate", cfg.events() / seconds);
    put("drain.seconds", seconds);
    put("start.restart_ms", s.readyMillis());
    detail("drain.write_rate", w.rate());
  }

  private static List<String> latencyRows(String id) {
    List<String> rows = new java.util.ArrayList<>(List.of(id + ".offered", id + ".applied_rate"));
    for (String what : List.of("ack", "applied")) {
      for (String p : List.of("p50", "p99", "p999", "max")) {
        rows.add(id + "." + what + "_" + p);
      }
    }
    return rows;
  }

  private void putPercentiles(String prefix, Latency.Percentiles p) {
    put(prefix + "_p50", p.p50());
    put(prefix + "_p99", p.p99());
    put(prefix + "_p999", p.p999());
    put(prefix + "_max", p.max());
  }

  private void put(String row, double v) {
    results.put(run, row, side, v);
  }

  private void detail(String key, Object v) {
    if (v != null) {
      results.detail(run, side, key, v);
    }
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
