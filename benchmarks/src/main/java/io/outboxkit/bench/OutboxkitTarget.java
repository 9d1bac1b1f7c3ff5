package io.outboxkit.bench;

import io.nats.client.JetStreamManagement;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * outboxkit's relay as shipped: {@code java [--relay-java-opts] -jar outbox-relay-*.jar},
 * configured by environment variables, in its own schema of the harness database, with its own
 * slot, publication and stream. Ready = {@code GET /health/readiness} answers 200 with state
 * STREAMING.
 */
final class OutboxkitTarget extends Target {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);

  private final BenchConfig cfg;
  private final PgAdmin admin;
  private final Cleanup cleanup;
  private final JetStreamManagement jsm;
  private final String database;
  private final String schema;
  private final String stateSchema;
  private final String slot;
  private final String stream;
  private final String prefix;
  private final BenchConfig.Mode mode;
  private final String messagePrefix;
  private final Path log;
  private final PGSimpleDataSource ds;
  private Process process;
  private volatile int httpPort;
  private Cleanup.Registration dropAll;
  private Cleanup.Registration stopProcess;

  OutboxkitTarget(
      BenchConfig cfg,
      PgAdmin admin,
      Cleanup cleanup,
      JetStreamManagement jsm,
      String database,
      Names names,
      int run,
      Path logs,
      BenchConfig.Mode mode) {
    this.cfg = cfg;
    this.admin = admin;
    this.cleanup = cleanup;
    this.jsm = jsm;
    this.database = database;
    // Each mode has its own schema, slot, stream and subjects: "k" table mode, "km" messages.
    String kind = mode == BenchConfig.Mode.TABLE ? "k" : "km";
    this.mode = mode;
    this.schema = names.schema(kind, run);
    // The relay's Flyway refuses a schema that already holds tables (the outbox): its own one.
    this.stateSchema = names.schema(mode == BenchConfig.Mode.TABLE ? "s" : "sm", run);
    this.slot = names.slot(kind, run);
    this.stream = names.stream(kind, run);
    this.prefix = names.subjectPrefix(kind, run);
    // Never the default prefix: another writer in the same database must not reach this relay.
    this.messagePrefix = slot;
    this.log =
        logs.resolve(
            "relay-run" + run + (mode == BenchConfig.Mode.TABLE ? "" : "-messages") + ".log");
    this.ds = admin.dataSource(database);
  }

  @Override
  Side side() {
    return mode.side;
  }

  @Override
  void prepare() {
    dropAll =
        cleanup.register(
            "drop relay slot, publication, stream and schema " + schema,
            () -> {
              stopNow();
              admin.dropSlot(slot);
              admin.dropPublication(database, slot);
              Streams.delete(jsm, stream);
              admin.dropSchema(database, schema);
              admin.dropSchema(database, stateSchema);
            });
    admin.exec(database, "CREATE SCHEMA " + schema);
    OutboxSchema.migrateOutbox(ds, TableName.of(schema, "outbox"));
    OutboxSchema.migrateInbox(ds, inbox());
    admin.exec(database, "CREATE TABLE " + effectTable() + " (id text, commit_us bigint)");
  }

  @Override
  Started start(int pollMs) {
    if (alive()) {
      throw new IllegalStateException("relay already running");
    }
    if (!java.nio.file.Files.isRegularFile(cfg.relayJar())) {
      throw new BenchException(
          "no relay jar at "
              + cfg.relayJar()
              + ": build it (./mvnw -q -B -DskipTests package -pl outbox-relay -am) or give"
              + " --relay-jar");
    }
    int port = freePort();
    httpPort = port;
    List<String> cmd = new ArrayList<>();
    Map<String, String> env = new LinkedHashMap<>();
    if (cfg.relayLauncher() != null) {
      cmd.add(cfg.relayLauncher().toString());
      env.put("OUTBOXKIT_RELAY_JAR", cfg.relayJar().toString());
      env.put("JAVA_OPTS", String.join(" ", cfg.relayJavaOpts()));
    } else {
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.addAll(cfg.relayJavaOpts());
      cmd.add("-jar");
      cmd.add(cfg.relayJar().toString());
    }
    // Only the settings given here: the caller's OUTBOXKIT_RELAY_* environment is removed.
    System.getenv().keySet().stream()
        .filter(k -> k.startsWith("OUTBOXKIT_RELAY_") || k.equals("JAVA_TOOL_OPTIONS"))
        .forEach(k -> env.put(k, null));
    env.putAll(settings(port));
    long launch = Clock.nowMicros();
    long t0 = System.nanoTime();
    Process p = ChildProcess.launch(cmd, env, null, log);
    process = p;
    stopProcess = cleanup.register("stop the relay (pid " + p.pid() + ")", this::stopNow);
    long deadline = t0 + READY_TIMEOUT.toNanos();
    HttpRequest ready =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/readiness"))
            .timeout(Duration.ofSeconds(2))
            .build();
    String lastBody = "";
    while (true) {
      if (!p.isAlive()) {
        throw new BenchException(
            "the relay exited with "
                + p.exitValue()
                + " during start-up; last lines of "
                + log
                + ":\n"
                + ChildProcess.tail(log, 30));
      }
      try {
        HttpResponse<String> r = HTTP.send(ready, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && r.body().contains("\"state\":\"STREAMING\"")) {
          break;
        }
        lastBody = r.body();
        if (lastBody.contains("\"lastError\"") && System.nanoTime() - t0 > 30_000_000_000L) {
          throw new BenchException(
              "the relay is not streaming after 30 s and reports an error: "
                  + lastBody
                  + "; log "
                  + log);
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BenchException("interrupted while waiting for the relay", e);
      }
      if (System.nanoTime() > deadline) {
        throw new BenchException(
            "the relay was not ready (readiness 200, STREAMING) within "
                + READY_TIMEOUT.toSeconds()
                + " s; readiness said "
                + lastBody
                + "; last lines of "
                + log
                + ":\n"
                + ChildProcess.tail(log, 30));
      }
      Clock.sleep(20);
    }
    long readyMs = (System.nanoTime() - t0) / 1_000_000;
    return new Started(launch, readyMs, pid());
  }

  @Override
  String prometheusUrl() {
    return "http://127.0.0.1:" + httpPort + "/prometheus";
  }

  private Map<String, String> settings(int port) {
    Map<String, String> e = new LinkedHashMap<>();
    e.put("OUTBOXKIT_RELAY_DATABASE_HOST", cfg.pg().host());
    e.put("OUTBOXKIT_RELAY_DATABASE_PORT", Integer.toString(cfg.pg().port()));
    e.put("OUTBOXKIT_RELAY_DATABASE_NAME", database);
    e.put("OUTBOXKIT_RELAY_DATABASE_USER", cfg.pg().user());
    e.put("OUTBOXKIT_RELAY_DATABASE_PASSWORD", cfg.pg().passwordOrUnused());
    e.put("OUTBOXKIT_RELAY_NATS_SERVERS", cfg.natsUrl());
    e.put("OUTBOXKIT_RELAY_STREAM_NAME", stream);
    e.put("OUTBOXKIT_RELAY_STREAM_SUBJECTS", prefix + ".>," + prefix + "-dlq.>");
    e.put("OUTBOXKIT_RELAY_SUBJECT_TEMPLATE", prefix + ".{aggregate_type}.{event_type}");
    e.put("OUTBOXKIT_RELAY_DEAD_LETTER_SUBJECT", prefix + "-dlq.relay");
    e.put("OUTBOXKIT_RELAY_SLOT_NAME", slot);
    e.put("OUTBOXKIT_RELAY_PUBLICATION_NAME", slot);
    // Table mode: the relay reads this table's inserts. Message mode: the table stays empty, but
    // pgoutput needs a publication, which the relay makes for it; the messages it relays carry
    // this prefix (RelayConfig.messagePrefix).
    e.put("OUTBOXKIT_RELAY_TABLES", schema + ".outbox");
    e.put("OUTBOXKIT_RELAY_MESSAGE_PREFIX", messagePrefix);
    e.put("OUTBOXKIT_RELAY_OFFSETS_TABLE", stateSchema + ".relay_offsets");
    e.put("OUTBOXKIT_RELAY_HTTP_HOST", "127.0.0.1");
    e.put("OUTBOXKIT_RELAY_HTTP_PORT", Integer.toString(port));
    e.putAll(cfg.relayEnv());
    return e;
  }

  @Override
  void stop() {
    Process p = process;
    if (p == null) {
      return;
    }
    int code = ChildProcess.kill(p, Duration.ofSeconds(60));
    process = null;
    if (stopProcess != null) {
      stopProcess.close();
    }
    if (code != 0 && code != 143) {
      throw new BenchException(
          "the relay exited with "
              + code
              + " on SIGTERM; last lines of "
              + log
              + ":\n"
              + ChildProcess.tail(log, 30));
    }
  }

  private void stopNow() {
    Process p = process;
    if (p != null && p.isAlive()) {
      ChildProcess.kill(p, Duration.ofSeconds(30));
    }
  }

  @Override
  boolean alive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** The relay's JVM: the launched process, or the java process a launcher script started. */
  @Override
  long pid() {
    Process p = process;
    if (p == null) {
      throw new BenchException("the relay is not running");
    }
    if (p.info().command().map(c -> c.endsWith("/java")).orElse(true)) {
      return p.pid();
    }
    return p.descendants()
        .filter(h -> h.info().command().map(c -> c.endsWith("/java")).orElse(false))
        .findFirst()
        .map(ProcessHandle::pid)
        .orElse(p.pid());
  }

  @Override
  EventWriter writer() {
    return mode == BenchConfig.Mode.TABLE
        ? new OutboxTable(OutboxTable.Flavor.OUTBOXKIT, schema + ".outbox", cfg.payloadBytes())
        : new WalMessages(messagePrefix, cfg.payloadBytes(), cfg.eventsPerMessage());
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
    return prefix + "." + aggregateType + ".Created";
  }

  @Override
  String deadLetterSubject() {
    return prefix + "-dlq.bench";
  }

  @Override
  TableName inbox() {
    return TableName.of(schema, "outbox_inbox");
  }

  @Override
  String effectTable() {
    return schema + ".bench_effect";
  }

  @Override
  CommitClock clock() {
    return CommitClock.HEADER;
  }

  @Override
  Path log() {
    return log;
  }

  @Override
  public void close() {
    super.close();
    if (dropAll != null) {
      dropAll.close();
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new BenchException("no free port: " + e, e);
    }
  }
}
