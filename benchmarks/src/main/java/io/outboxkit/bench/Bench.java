package io.outboxkit.bench;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.outboxkit.bench.BenchConfig.Workload;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One harness run: checks, leftovers of killed runs removed, then {@code runs} times the raw
 * limits, outboxkit's relay and (with {@code --with-peer}) the peer, alternating which relay goes
 * first; then the table of medians.
 */
final class Bench {
  private static final Logger log = LoggerFactory.getLogger("bench");

  /**
   * What a run produced.
   *
   * @param files the JSON and Markdown written
   */
  record Outcome(Results results, Report report, List<Path> files, String preamble) {}

  private final BenchConfig cfg;
  private final Cleanup cleanup;
  private final Names names = Names.ofThisProcess();
  private final List<String> args;

  Bench(BenchConfig cfg, Cleanup cleanup, List<String> args) {
    this.cfg = cfg;
    this.cleanup = cleanup;
    this.args = args;
  }

  Outcome run() throws IOException {
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path logs = cfg.resultsDir().resolve(stamp + "-logs");
    Files.createDirectories(logs);
    if (!Files.isRegularFile(cfg.relayJar())) {
      throw new BenchException(
          "no relay jar at "
              + cfg.relayJar()
              + ": build it (./mvnw -q -B -DskipTests package -pl outbox-relay,benchmarks -am, or"
              + " run benchmarks/run without --no-build) or give --relay-jar");
    }
    PgAdmin admin = new PgAdmin(cfg.pg());
    String pgVersion = admin.check();
    Connection control = Streams.connect(cfg.natsUrl(), "control");
    Connection probes = Streams.connect(cfg.natsUrl(), "probes");
    Connection consumers = Streams.connect(cfg.natsUrl(), "consumers");
    try {
      String natsVersion = Streams.check(control);
      JetStreamManagement jsm = control.jetStreamManagement();
      Sweeper.sweep(admin, jsm, cfg.pg().database());

      Results results = new Results(Rows.of(cfg));
      Map<String, Object> header = header(stamp, pgVersion, natsVersion);
      if (cfg.withPeer() && cfg.runsRelays()) {
        log.info("peer: installing Debezium Server (cached after the first time)");
        PeerTarget.install(cfg, logs);
      }
      String database = cfg.pg().database();
      Cleanup.Registration dropDb = null;
      if (database == null) {
        database = names.database();
        String db = database;
        dropDb = cleanup.register("drop database " + db, () -> admin.dropDatabase(db));
        admin.createDatabase(database);
      }
      for (int run = 1; run <= cfg.runs(); run++) {
        log.info("=== run {} of {} ===", run, cfg.runs());
        if (cfg.runs(Workload.RAW)) {
          checkpoint(admin);
          new RawLimits(cfg, admin, cleanup, results, run).runAll(database, names);
        }
        if (!cfg.runsRelays()) {
          continue;
        }
        // outboxkit's modes, then the peer; reversed in even runs.
        List<Target> order = new ArrayList<>();
        for (BenchConfig.Mode mode : cfg.modes()) {
          order.add(
              new OutboxkitTarget(cfg, admin, cleanup, jsm, database, names, run, logs, mode));
        }
        if (cfg.withPeer()) {
          order.add(new PeerTarget(cfg, admin, cleanup, jsm, names, run, logs));
        }
        if (run % 2 == 0) {
          java.util.Collections.reverse(order);
        }
        for (Target t : order) {
          checkpoint(admin);
          new Workloads(cfg, results, run, probes, consumers, jsm).runAll(t);
        }
      }
      if (dropDb != null) {
        dropDb.close();
      }
      Report report = new Report(results, cfg.withPeer(), cfg.outboxkitSides(), header);
      String preamble = preamble(header);
      List<Path> files = report.write(cfg.resultsDir(), stamp, preamble);
      return new Outcome(results, report, files, preamble);
    } finally {
      for (Connection c : List.of(consumers, probes, control)) {
        try {
          c.close();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  private void checkpoint(PgAdmin admin) {
    if (cfg.checkpoint()) {
      try {
        admin.checkpoint();
      } catch (BenchException e) {
        log.warn("CHECKPOINT not possible ({}); going on without", e.getMessage());
      }
    }
  }

  private Map<String, Object> header(String stamp, String pgVersion, String natsVersion) {
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("timestamp", stamp);
    h.put("command", "benchmarks/run " + String.join(" ", args));
    Map<String, Object> machine = Machine.describe(pgVersion, natsVersion);
    if (cfg.withPeer()) {
      machine.put("java_peer", peerJava());
    }
    h.put("machine", machine);
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("runs", cfg.runs());
    c.put("events", cfg.events());
    c.put("rows_per_tx", cfg.rowsPerTx());
    c.put("batch_writers", cfg.batchWriters());
    c.put("single_writers", cfg.singleWriters());
    c.put("single_seconds", cfg.singleDuration().toMillis() / 1000.0);
    c.put("rates", cfg.rates());
    c.put("latency_seconds", cfg.latencyDuration().toMillis() / 1000.0);
    c.put("latency_warmup_seconds", cfg.latencyWarmup().toMillis() / 1000.0);
    c.put("paced_writers", cfg.pacedWriters());
    c.put("consumers", cfg.consumers());
    c.put("raw_js_messages", cfg.rawJsMessages());
    c.put("raw_js_window", cfg.rawJsWindow());
    c.put("payload_bytes", cfg.payloadBytes());
    c.put("relay_jar", cfg.relayJar().toString());
    c.put("relay_java_opts", cfg.relayJavaOpts());
    c.put("relay_env", cfg.relayEnv());
    c.put("modes", cfg.modes().stream().map(m -> m.flag).toList());
    c.put("message_events_per_message", cfg.eventsPerMessage());
    c.put("profile", cfg.profile());
    c.put("with_peer", cfg.withPeer());
    if (cfg.withPeer()) {
      c.put("peer_poll_ms", cfg.peerPollMs());
      c.put("peer_default_poll_ms", cfg.peerDefaultPollMs());
      c.put("peer_heap", cfg.peerHeap());
    }
    c.put("only", cfg.only().stream().map(w -> w.flag).toList());
    h.put("config", c);
    return h;
  }

  private static String peerJava() {
    String home =
        System.getenv().getOrDefault("PEER_JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64");
    try {
      for (String line : Files.readAllLines(Path.of(home, "release"))) {
        if (line.startsWith("JAVA_RUNTIME_VERSION=") || line.startsWith("JAVA_VERSION=")) {
          return home + " " + line.replaceAll("^[A-Z_]+=|\"", "");
        }
      }
    } catch (IOException e) {
      // below
    }
    return home;
  }

  @SuppressWarnings("unchecked")
  static String preamble(Map<String, Object> header) {
    Map<String, Object> m = (Map<String, Object>) header.get("machine");
    StringBuilder sb = new StringBuilder();
    sb.append("outboxkit benchmark ").append(header.get("timestamp")).append('\n');
    sb.append("command: ").append(header.get("command")).append('\n');
    sb.append(
        String.format(
            "machine: %s CPUs (%s), %s, kernel %s, load at start %s%n",
            m.get("cpus"),
            m.get("cpu_model"),
            m.get("memory"),
            m.get("kernel"),
            m.get("load_average_at_start")));
    sb.append("postgresql: ").append(m.get("postgresql")).append('\n');
    sb.append("nats-server: ").append(m.get("nats_server")).append('\n');
    sb.append("java: ").append(m.get("java_relay_and_harness")).append('\n');
    if (m.containsKey("java_peer")) {
      sb.append("peer java: ").append(m.get("java_peer")).append('\n');
    }
    sb.append("config: ").append(header.get("config")).append('\n');
    return sb.toString();
  }
}
