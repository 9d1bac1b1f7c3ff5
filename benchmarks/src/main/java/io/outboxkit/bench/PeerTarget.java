package io.outboxkit.bench;

import io.nats.client.JetStreamManagement;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The peer: Debezium Server 3.6.1.Final (Outbox Event Router, NATS JetStream sink), driven through
 * {@code benchmarks/peer/peer.sh} in a database of its own ({@code public.outbox} with Debezium's
 * column names). peer.sh measures its start → ready (health UP, slot active, streaming logged).
 */
final class PeerTarget extends Target {
  private static final Pattern READY = Pattern.compile("ready_ms=(\\d+)");

  private final BenchConfig cfg;
  private final PgAdmin admin;
  private final Cleanup cleanup;
  private final JetStreamManagement jsm;
  private final String database;
  private final String stream;
  private final String prefix;
  private final Path dataDir;
  private final Path log;
  private final PGSimpleDataSource ds;
  private long pid = -1;
  private Cleanup.Registration dropAll;

  PeerTarget(
      BenchConfig cfg,
      PgAdmin admin,
      Cleanup cleanup,
      JetStreamManagement jsm,
      Names names,
      int run,
      Path logs) {
    this.cfg = cfg;
    this.admin = admin;
    this.cleanup = cleanup;
    this.jsm = jsm;
    this.database = names.peerDatabase(run);
    this.stream = names.stream("p", run);
    this.prefix = names.subjectPrefix("p", run);
    this.dataDir = logs.resolve("peer-run" + run);
    this.log = logs.resolve("peer-run" + run + ".peer-sh.log");
    this.ds = admin.dataSource(database);
  }

  /** Downloads and unpacks Debezium Server once (peer.sh install; cached). */
  static void install(BenchConfig cfg, Path logs) {
    checkTools(cfg);
    peerSh(cfg, List.of("install"), Duration.ofMinutes(40), logs.resolve("peer-install.log"));
  }

  private static void checkTools(BenchConfig cfg) {
    if (!Files.isExecutable(cfg.peerScript())) {
      throw new BenchException("no peer script at " + cfg.peerScript() + ": give --repo");
    }
    for (String tool : List.of("psql", "curl", "mvn")) {
      boolean found = false;
      for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
        found |= Files.isExecutable(Path.of(dir, tool));
      }
      if (!found) {
        throw new BenchException(
            "--with-peer needs " + tool + " on PATH (peer.sh uses it): install it");
      }
    }
  }

  @Override
  Side side() {
    return Side.PEER;
  }

  @Override
  void prepare() {
    dropAll =
        cleanup.register(
            "stop the peer, drop database " + database + " and stream " + stream,
            () -> {
              if (Files.exists(dataDir)) {
                run("stop", "--data", dataDir.toString(), "--timeout", "20");
              }
              Streams.delete(jsm, stream);
              run("teardown", "--db", database);
            });
    run("prepare", "--db", database);
    OutboxSchema.migrateInbox(ds, inbox());
    admin.exec(database, "CREATE TABLE " + effectTable() + " (id text, commit_us bigint)");
  }

  @Override
  Started start(int pollMs) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "start",
                "--db",
                database,
                "--nats",
                cfg.natsUrl(),
                "--stream",
                stream,
                "--subject-prefix",
                prefix,
                "--poll-interval-ms",
                Integer.toString(pollMs),
                "--http-port",
                Integer.toString(OutboxkitTarget.freePort()),
                "--data",
                dataDir.toString(),
                "--heap",
                cfg.peerHeap(),
                "--ready-timeout",
                "120"));
    long launch = Clock.nowMicros();
    String out = peerSh(cfg, args, Duration.ofSeconds(180), log);
    Matcher m = READY.matcher(out);
    if (!m.find()) {
      throw new BenchException("peer.sh start printed no ready_ms: " + out);
    }
    try {
      pid = Long.parseLong(Files.readString(dataDir.resolve("pid")).trim());
    } catch (IOException | NumberFormatException e) {
      throw new BenchException("no pid file in " + dataDir + ": " + e, e);
    }
    return new Started(launch, Long.parseLong(m.group(1)), pid);
  }

  @Override
  void stop() {
    run("stop", "--data", dataDir.toString(), "--keep-slot", "--timeout", "30");
    pid = -1;
  }

  @Override
  boolean alive() {
    return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  @Override
  long pid() {
    return pid;
  }

  @Override
  EventWriter writer() {
    return new OutboxTable(OutboxTable.Flavor.DEBEZIUM, "public.outbox", cfg.payloadBytes());
  }

  @Override
  DataSource dataSource() {
    return ds;
  }

  @Override
  String stream() {
    return stream;
  }

  @Override
  String subject(String aggregateType) {
    return prefix + "." + aggregateType;
  }

  @Override
  String deadLetterSubject() {
    return prefix + ".dlq_bench";
  }

  @Override
  TableName inbox() {
    return TableName.of("public", "outbox_inbox");
  }

  @Override
  String effectTable() {
    return "public.bench_effect";
  }

  @Override
  CommitClock clock() {
    return CommitClock.PAYLOAD;
  }

  @Override
  Path log() {
    return dataDir.resolve("server.log");
  }

  @Override
  public void close() {
    super.close();
    if (dropAll != null) {
      dropAll.close();
    }
  }

  private String run(String... args) {
    return peerSh(cfg, List.of(args), Duration.ofSeconds(120), log);
  }

  private static String peerSh(BenchConfig cfg, List<String> args, Duration timeout, Path log) {
    List<String> cmd = new ArrayList<>();
    cmd.add(cfg.peerScript().toString());
    cmd.addAll(args);
    Map<String, String> env =
        Map.of(
            "PGHOST", cfg.pg().host(),
            "PGPORT", Integer.toString(cfg.pg().port()),
            "PGUSER", cfg.pg().user(),
            "PGPASSWORD", cfg.pg().passwordOrUnused());
    return ChildProcess.run(cmd, env, timeout, log);
  }
}
