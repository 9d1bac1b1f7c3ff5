package io.outboxkit.bench;

import io.outboxkit.bench.BenchConfig.PgServer;
import io.outboxkit.bench.BenchConfig.Workload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/** Parses the command line of {@code benchmarks/run} into a {@link BenchConfig}. */
final class BenchArgs {
  static final String USAGE =
      """
      benchmarks/run [--no-build] [options]     (docs/benchmarks.md)

        --smoke                 a few thousand events, 1 run, no peer (what CI runs)
        --runs N                runs of the whole sequence; the table shows medians (3)
        --events N              rows of the batched load and of the backlog drain (200000)
        --with-peer             also run Debezium Server 3.6.1.Final via benchmarks/peer/peer.sh
        --only LIST             comma list of: raw, start, batched, single, latency, drain,
                                peer-default-poll (all; start is part of every relay run)
        --rates LIST            offered rates of the paced latency runs, events/s (1000,5000)
        --latency-seconds S     measured seconds of each paced run (20; plus a warm-up of 3)
        --single-seconds S      seconds of the 8-writer single-row load (15)
        --consumers N           OutboxConsumer instances in the latency runs (4)
        --pg-host H --pg-port P --pg-user U --pg-password W --pg-admin-db D
                                the PostgreSQL server (127.0.0.1 5432 postgres '' postgres;
                                the admin database defaults to --database when given)
        --database NAME         work in this existing database (own schemas, dropped after)
                                instead of creating a fresh one
        --nats URL              the NATS server with JetStream (nats://127.0.0.1:4222)
        --relay-jar PATH        (outbox-relay/target/outbox-relay-*.jar)
        --relay-java-opts STR   JVM options for the relay (none: as shipped)
        --relay-launcher PATH   start the relay with this script instead of java -jar; it gets
                                OUTBOXKIT_RELAY_JAR and JAVA_OPTS (a shipped start script)
        --relay-env K=V         extra relay setting, repeatable (OUTBOXKIT_RELAY_...)
        --peer-poll-ms N        the peer's tuned poll.interval.ms (10)
        --peer-heap SIZE        the peer's -Xmx, or none (none: its default)
        --results DIR           where <timestamp>.json|.md go (benchmarks/results)
        --repo DIR              the outboxkit checkout (.; set by benchmarks/run)
        --stall-seconds S       fail a wait after S seconds without progress (60)
        --max-minutes M         abort the whole run after M minutes (90; smoke 4)
        --no-checkpoint         do not run CHECKPOINT before each system's sequence
      """;

  private BenchArgs() {}

  static BenchConfig parse(String... args) {
    Set<String> known =
        Set.of(
            "--smoke",
            "--with-peer",
            "--no-checkpoint",
            "--help",
            "-h",
            "--no-build",
            "--runs",
            "--events",
            "--only",
            "--rates",
            "--latency-seconds",
            "--single-seconds",
            "--consumers",
            "--pg-host",
            "--pg-port",
            "--pg-user",
            "--pg-password",
            "--pg-admin-db",
            "--database",
            "--nats",
            "--relay-jar",
            "--relay-java-opts",
            "--relay-env",
            "--relay-launcher",
            "--peer-poll-ms",
            "--peer-heap",
            "--results",
            "--repo",
            "--stall-seconds",
            "--max-minutes");
    Map<String, List<String>> opts = new LinkedHashMap<>();
    Set<String> flags =
        Set.of("--smoke", "--with-peer", "--no-checkpoint", "--help", "-h", "--no-build");
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (flags.contains(a)) {
        opts.computeIfAbsent(a, k -> new ArrayList<>()).add("true");
      } else if (a.startsWith("--")) {
        String key = a;
        String value;
        int eq = a.indexOf('=');
        if (eq > 0) {
          key = a.substring(0, eq);
        }
        if (!known.contains(key)) {
          throw new IllegalArgumentException("unknown option " + key + " (see --help)");
        }
        if (eq > 0) {
          value = a.substring(eq + 1);
        } else {
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException(a + " needs a value (see --help)");
          }
          value = args[++i];
        }
        opts.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
      } else {
        throw new IllegalArgumentException("unexpected argument '" + a + "' (see --help)");
      }
    }
    if (opts.containsKey("--help") || opts.containsKey("-h")) {
      throw new HelpRequested();
    }
    boolean smoke = opts.containsKey("--smoke");
    boolean withPeer = opts.containsKey("--with-peer");
    if (smoke && withPeer) {
      throw new IllegalArgumentException("--smoke never runs the peer: drop --with-peer");
    }
    Path repo = Path.of(one(opts, "--repo", ".")).toAbsolutePath().normalize();

    Set<Workload> only = EnumSet.noneOf(Workload.class);
    if (opts.containsKey("--only")) {
      for (String s : one(opts, "--only", "").split(",")) {
        if (!s.isBlank()) {
          only.add(Workload.parse(s));
        }
      }
    }
    List<Integer> rates =
        Arrays.stream(one(opts, "--rates", "1000,5000").split(","))
            .map(String::trim)
            .map(s -> positive("--rates", s))
            .toList();

    String host = one(opts, "--pg-host", "127.0.0.1");
    String natsUrl = one(opts, "--nats", "nats://127.0.0.1:4222");
    requireLoopback("--pg-host", host);
    requireLoopback("--nats", hostOf(natsUrl));

    Map<String, String> relayEnv = new LinkedHashMap<>();
    for (String kv : opts.getOrDefault("--relay-env", List.of())) {
      int eq = kv.indexOf('=');
      if (eq <= 0 || !kv.startsWith("OUTBOXKIT_")) {
        throw new IllegalArgumentException(
            "--relay-env wants OUTBOXKIT_RELAY_SETTING=value, got '" + kv + "'");
      }
      relayEnv.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    String javaOpts = one(opts, "--relay-java-opts", "").trim();

    Path relayJar =
        opts.containsKey("--relay-jar")
            ? Path.of(one(opts, "--relay-jar", "")).toAbsolutePath()
            : findRelayJar(repo);

    int latencySeconds = positive("--latency-seconds", one(opts, "--latency-seconds", "20"));
    int singleSeconds = positive("--single-seconds", one(opts, "--single-seconds", "15"));
    int maxRate = rates.stream().mapToInt(Integer::intValue).max().orElse(1000);
    return new BenchConfig(
        smoke,
        positive("--runs", one(opts, "--runs", smoke ? "1" : "3")),
        positive("--events", one(opts, "--events", smoke ? "3000" : "200000")),
        500,
        2,
        8,
        smoke ? Duration.ofSeconds(2) : Duration.ofSeconds(singleSeconds),
        rates,
        smoke ? Duration.ofMillis(1500) : Duration.ofSeconds(latencySeconds),
        smoke ? Duration.ofMillis(500) : Duration.ofSeconds(3),
        Math.max(4, Math.min(32, maxRate / 250)),
        positive("--consumers", one(opts, "--consumers", smoke ? "2" : "4")),
        smoke ? 5000 : 200_000,
        4000,
        200,
        withPeer,
        only,
        new PgServer(
            host,
            positive("--pg-port", one(opts, "--pg-port", "5432")),
            one(opts, "--pg-user", "postgres"),
            one(opts, "--pg-password", ""),
            // With --database, queries that need no other database run there.
            one(opts, "--pg-admin-db", one(opts, "--database", "postgres")),
            opts.containsKey("--database") ? one(opts, "--database", "") : null),
        natsUrl,
        relayJar,
        javaOpts.isEmpty() ? List.of() : List.of(javaOpts.split("\\s+")),
        opts.containsKey("--relay-launcher")
            ? Path.of(one(opts, "--relay-launcher", "")).toAbsolutePath()
            : null,
        relayEnv,
        repo.resolve("benchmarks/peer/peer.sh"),
        positive("--peer-poll-ms", one(opts, "--peer-poll-ms", "10")),
        500,
        one(opts, "--peer-heap", "none"),
        Path.of(one(opts, "--results", repo.resolve("benchmarks/results").toString()))
            .toAbsolutePath(),
        Duration.ofSeconds(positive("--stall-seconds", one(opts, "--stall-seconds", "60"))),
        Duration.ofMinutes(
            positive("--max-minutes", one(opts, "--max-minutes", smoke ? "4" : "90"))),
        !opts.containsKey("--no-checkpoint"));
  }

  /** --help was asked for: print {@link #USAGE}. */
  static final class HelpRequested extends RuntimeException {
    HelpRequested() {
      super("help");
    }
  }

  private static String one(Map<String, List<String>> opts, String key, String dflt) {
    List<String> v = opts.get(key);
    return v == null || v.isEmpty() ? dflt : v.get(v.size() - 1);
  }

  private static int positive(String opt, String s) {
    try {
      int v = Integer.parseInt(s.trim());
      if (v > 0) {
        return v;
      }
    } catch (NumberFormatException e) {
      // below
    }
    throw new IllegalArgumentException(opt + " wants a positive integer, got '" + s + "'");
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

  private static void requireLoopback(String opt, String host) {
    if (!Set.of("127.0.0.1", "localhost", "::1").contains(host)) {
      throw new IllegalArgumentException(
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
