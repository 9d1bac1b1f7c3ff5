package io.outboxkit.bench;

import io.outboxkit.bench.BenchConfig.Mode;
import io.outboxkit.bench.BenchConfig.PgServer;
import io.outboxkit.bench.BenchConfig.Workload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * The command line of {@code benchmarks/run}, parsed by picocli into a {@link BenchConfig}. Errors
 * are picocli {@link ParameterException}s naming the option.
 */
@Command(
    name = "benchmarks/run",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    usageHelpWidth = 100,
    description =
        "outboxkit's relay beside the raw limits and Debezium Server (docs/benchmarks.md).",
    customSynopsis = "benchmarks/run [--no-build] [options]")
final class BenchArgs {
  @Option(names = "--smoke", description = "a few thousand events, 1 run, no peer (what CI runs)")
  boolean smoke;

  @Option(
      names = "--runs",
      paramLabel = "N",
      description = "runs of the whole sequence; the table shows medians (3; smoke 1)")
  Integer runs;

  @Option(
      names = "--events",
      paramLabel = "N",
      description = "rows of the batched load and of the backlog drain (200000; smoke 3000)")
  Integer events;

  @Option(
      names = "--with-peer",
      description = "also run Debezium Server 3.6.1.Final via benchmarks/peer/peer.sh")
  boolean withPeer;

  @Option(
      names = "--only",
      paramLabel = "LIST",
      split = ",",
      converter = WorkloadConverter.class,
      description =
          "comma list of: raw, start, batched, single, latency, drain, peer-default-poll (all;"
              + " start is part of every relay run)")
  List<Workload> only = new ArrayList<>();

  @Option(
      names = "--modes",
      paramLabel = "LIST",
      split = ",",
      converter = ModeConverter.class,
      description =
          "outboxkit's write modes, each a full relay sequence: table (outbox rows), message"
              + " (transactional WAL messages) (both when the relay jar can relay messages, else"
              + " table)")
  List<Mode> modes = new ArrayList<>();

  @Option(
      names = "--message-events",
      paramLabel = "N",
      description =
          "message mode, batched loads (batched, drain, raw 500/tx): events per WAL message; 1 ="
              + " one message per event like Outbox.write, 500 = one per transaction like"
              + " Outbox.writeAll (1)")
  int messageEvents = 1;

  @Option(
      names = "--profile",
      description =
          "record a JFR profile (jcmd JFR.start, settings=profile) of the relay (and the peer)"
              + " during each batched run and print its hottest frames, packages and threads")
  boolean profile;

  @Option(
      names = "--rates",
      paramLabel = "LIST",
      split = ",",
      description = "offered rates of the paced latency runs, events/s (1000,5000)")
  List<Integer> rates = new ArrayList<>(List.of(1000, 5000));

  @Option(
      names = "--latency-seconds",
      paramLabel = "S",
      description = "measured seconds of each paced run (20; plus a warm-up of 3)")
  int latencySeconds = 20;

  @Option(
      names = "--single-seconds",
      paramLabel = "S",
      description = "seconds of the 8-writer single-row load (15)")
  int singleSeconds = 15;

  @Option(
      names = "--consumers",
      paramLabel = "N",
      description = "OutboxConsumer instances in the latency runs (4; smoke 2)")
  Integer consumers;

  @Option(names = "--pg-host", paramLabel = "H", description = "PostgreSQL host (127.0.0.1)")
  String pgHost = "127.0.0.1";

  @Option(names = "--pg-port", paramLabel = "P", description = "PostgreSQL port (5432)")
  int pgPort = 5432;

  @Option(names = "--pg-user", paramLabel = "U", description = "PostgreSQL user (postgres)")
  String pgUser = "postgres";

  @Option(names = "--pg-password", paramLabel = "W", description = "its password ('')")
  String pgPassword = "";

  @Option(
      names = "--pg-admin-db",
      paramLabel = "D",
      description = "admin database (postgres; --database when given)")
  String pgAdminDb;

  @Option(
      names = "--database",
      paramLabel = "NAME",
      description =
          "work in this existing database (own schemas, dropped after) instead of creating a"
              + " fresh one")
  String database;

  @Option(
      names = "--nats",
      paramLabel = "URL",
      description = "the NATS server with JetStream (nats://127.0.0.1:4222)")
  String nats = "nats://127.0.0.1:4222";

  @Option(
      names = "--relay-jar",
      paramLabel = "PATH",
      description = "(outbox-relay/target/outbox-relay-*.jar)")
  Path relayJar;

  @Option(
      names = "--relay-java-opts",
      paramLabel = "STR",
      description = "JVM options for the relay (none: as shipped)")
  String relayJavaOpts = "";

  @Option(
      names = "--relay-launcher",
      paramLabel = "PATH",
      description =
          "start the relay with this script instead of java -jar; it gets OUTBOXKIT_RELAY_JAR and"
              + " JAVA_OPTS (a shipped start script)")
  Path relayLauncher;

  @Option(
      names = "--relay-env",
      paramLabel = "K=V",
      description = "extra relay setting, repeatable (OUTBOXKIT_RELAY_...)")
  Map<String, String> relayEnv = new LinkedHashMap<>();

  @Option(
      names = "--peer-poll-ms",
      paramLabel = "N",
      description = "the peer's tuned poll.interval.ms (10)")
  int peerPollMs = 10;

  @Option(
      names = "--peer-heap",
      paramLabel = "SIZE",
      description = "the peer's -Xmx, or none (none: its default)")
  String peerHeap = "none";

  @Option(
      names = "--results",
      paramLabel = "DIR",
      description = "where <timestamp>.json|.md go (benchmarks/results)")
  Path results;

  @Option(
      names = "--repo",
      paramLabel = "DIR",
      description = "the outboxkit checkout (.; set by benchmarks/run)")
  Path repo = Path.of(".");

  @Option(
      names = "--stall-seconds",
      paramLabel = "S",
      description = "fail a wait after S seconds without progress (60)")
  int stallSeconds = 60;

  @Option(
      names = "--max-minutes",
      paramLabel = "M",
      description = "abort the whole run after M minutes (90; smoke 8)")
  Integer maxMinutes;

  @Option(
      names = "--no-checkpoint",
      description = "do not run CHECKPOINT before each system's sequence")
  boolean noCheckpoint;

  @Option(names = "--no-build", hidden = true, description = "handled by benchmarks/run")
  boolean noBuild;

  private BenchArgs() {}

  /** The usage text (--help). */
  static String usage() {
    return new CommandLine(new BenchArgs()).getUsageMessage();
  }

  static BenchConfig parse(String... args) {
    BenchArgs a = new BenchArgs();
    CommandLine cl = new CommandLine(a);
    cl.parseArgs(args);
    if (cl.isUsageHelpRequested()) {
      throw new HelpRequested();
    }
    return a.config(cl);
  }

  private BenchConfig config(CommandLine cl) {
    if (smoke && withPeer) {
      throw new ParameterException(cl, "--smoke never runs the peer: drop --with-peer");
    }
    Path root = repo.toAbsolutePath().normalize();
    rates.forEach(r -> positive(cl, "--rates", r));
    requireLoopback(cl, "--pg-host", pgHost);
    requireLoopback(cl, "--nats", hostOf(nats));
    relayEnv.forEach(
        (k, v) -> {
          if (!k.startsWith("OUTBOXKIT_")) {
            throw new ParameterException(
                cl, "--relay-env wants OUTBOXKIT_RELAY_SETTING=value, got '" + k + "=" + v + "'");
          }
        });
    String javaOpts = relayJavaOpts.trim();
    Path jar = relayJar != null ? relayJar.toAbsolutePath() : findRelayJar(root);
    List<Mode> chosen = modes(cl, jar);
    int maxRate = rates.stream().mapToInt(Integer::intValue).max().orElse(1000);
    return new BenchConfig(
        smoke,
        positive(cl, "--runs", runs != null ? runs : smoke ? 1 : 3),
        positive(cl, "--events", events != null ? events : smoke ? 3000 : 200_000),
        500,
        2,
        8,
        smoke
            ? Duration.ofSeconds(2)
            : Duration.ofSeconds(positive(cl, "--single-seconds", singleSeconds)),
        List.copyOf(rates),
        smoke
            ? Duration.ofMillis(1500)
            : Duration.ofSeconds(positive(cl, "--latency-seconds", latencySeconds)),
        smoke ? Duration.ofMillis(500) : Duration.ofSeconds(3),
        Math.max(4, Math.min(32, maxRate / 250)),
        positive(cl, "--consumers", consumers != null ? consumers : smoke ? 2 : 4),
        smoke ? 5000 : 200_000,
        4000,
        200,
        withPeer,
        only.isEmpty() ? EnumSet.noneOf(Workload.class) : EnumSet.copyOf(only),
        new PgServer(
            pgHost,
            positive(cl, "--pg-port", pgPort),
            pgUser,
            pgPassword,
            // With --database, queries that need no other database run there.
            pgAdminDb != null ? pgAdminDb : database != null ? database : "postgres",
            database),
        nats,
        jar,
        javaOpts.isEmpty() ? List.of() : List.of(javaOpts.split("\\s+")),
        relayLauncher != null ? relayLauncher.toAbsolutePath() : null,
        new LinkedHashMap<>(relayEnv),
        root.resolve("benchmarks/peer/peer.sh"),
        positive(cl, "--peer-poll-ms", peerPollMs),
        500,
        peerHeap,
        (results != null ? results : root.resolve("benchmarks/results")).toAbsolutePath(),
        Duration.ofSeconds(positive(cl, "--stall-seconds", stallSeconds)),
        Duration.ofMinutes(
            positive(cl, "--max-minutes", maxMinutes != null ? maxMinutes : smoke ? 8 : 90)),
        !noCheckpoint,
        chosen,
        positive(cl, "--message-events", messageEvents),
        profile);
  }

  /**
   * --modes, or both modes when the relay jar can relay WAL messages (table mode alone for an older
   * relay); an explicit message mode with such a relay is refused.
   */
  private List<Mode> modes(CommandLine cl, Path jar) {
    boolean messages = RelayJar.relaysMessages(jar);
    if (modes.isEmpty()) {
      return messages ? List.of(Mode.TABLE, Mode.MESSAGE) : List.of(Mode.TABLE);
    }
    if (modes.contains(Mode.MESSAGE) && !messages) {
      throw new ParameterException(
          cl,
          "--modes message: the relay at "
              + jar
              + " cannot relay WAL messages (it has no io/outboxkit/OutboxEnvelope): rebuild it"
              + " or run --modes table");
    }
    return List.copyOf(new java.util.LinkedHashSet<>(modes));
  }

  /** --help was asked for: print {@link #usage()}. */
  static final class HelpRequested extends RuntimeException {
    HelpRequested() {
      super("help");
    }
  }

  /** picocli's hook for {@link Mode#parse(String)}. */
  static final class ModeConverter implements CommandLine.ITypeConverter<Mode> {
    @Override
    public Mode convert(String value) {
      try {
        return Mode.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  /** picocli's hook for {@link Workload#parse(String)}. */
  static final class WorkloadConverter implements CommandLine.ITypeConverter<Workload> {
    @Override
    public Workload convert(String value) {
      try {
        return Workload.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  private static int positive(CommandLine cl, String opt, int v) {
    if (v <= 0) {
      throw new ParameterException(cl, opt + " wants a positive integer, got '" + v + "'");
    }
    return v;
  }

  private static String hostOf(String natsUrl) {
    String s = natsUrl.replaceFirst("^[a-z]+://", "");
    s = s.replaceFirst("^[^@]*@", "");
    if (s.startsWith("[")) {
      return s.substring(1, s.indexOf(']'));
    }
    int colon = s.indexOf(':');
    return colon < 0 ? s : s.substring(0, colon);
  }

  private static void requireLoopback(CommandLine cl, String opt, String host) {
    if (!Set.of("127.0.0.1", "localhost", "::1").contains(host)) {
      throw new ParameterException(
          cl,
          opt
              + " is "
              + host
              + ": the harness runs only against servers on this machine's loopback (127.0.0.1),"
              + " so that both relays see the same network");
    }
  }

  private static Path findRelayJar(Path repo) {
    Path target = repo.resolve("outbox-relay/target");
    if (Files.isDirectory(target)) {
      try (Stream<Path> files = Files.list(target)) {
        return files
            .filter(p -> p.getFileName().toString().matches("outbox-relay-[0-9].*\\.jar"))
            .filter(p -> !p.getFileName().toString().startsWith("original-"))
            .findFirst()
            .orElse(target.resolve("outbox-relay-0.1.0-SNAPSHOT.jar"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return target.resolve("outbox-relay-0.1.0-SNAPSHOT.jar");
  }
}
