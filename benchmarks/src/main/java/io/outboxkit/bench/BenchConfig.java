package io.outboxkit.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything one harness run needs; built by {@link BenchArgs} from the command line.
 *
 * @param runs how many times the whole sequence runs; the table shows medians
 * @param events rows of the batched load and of the backlog drain
 * @param rowsPerTx rows per transaction of the batched load (and of the raw batched insert)
 * @param batchWriters writer threads of the batched load
 * @param singleWriters writer threads of the single-row load (and of the raw single-row insert)
 * @param singleDuration how long the single-row writers write
 * @param rates offered rates of the paced latency runs, events/s
 * @param latencyDuration measured part of a paced run
 * @param latencyWarmup unmeasured start of a paced run (JIT, connections)
 * @param consumers OutboxConsumer instances sharing one durable consumer in the latency runs
 * @param rawJsMessages messages of the raw JetStream publish run
 * @param rawJsWindow in-flight window of the raw JetStream publish run
 * @param payloadBytes approximate size of each event's JSON payload
 * @param withPeer also run Debezium Server (benchmarks/peer/peer.sh)
 * @param only the workloads to run ({@link Workload}); all when empty
 * @param relayLauncher a script that starts the relay as shipped (it gets the relay jar in {@code
 *     OUTBOXKIT_RELAY_JAR} and the options in {@code JAVA_OPTS}), or null for {@code java -jar}
 * @param modes outboxkit's write modes, each a full relay sequence per run ({@link Mode})
 * @param eventsPerMessage message mode, batched loads: events per WAL message (1 = one message per
 *     event, as {@code Outbox.write}; the rows per transaction = one per transaction, as {@code
 *     Outbox.writeAll})
 * @param profile record a JFR profile of the relay during each batched run
 */
record BenchConfig(
    boolean smoke,
    int runs,
    int events,
    int rowsPerTx,
    int batchWriters,
    int singleWriters,
    Duration singleDuration,
    List<Integer> rates,
    Duration latencyDuration,
    Duration latencyWarmup,
    int pacedWriters,
    int consumers,
    int rawJsMessages,
    int rawJsWindow,
    int payloadBytes,
    boolean withPeer,
    Set<Workload> only,
    PgServer pg,
    String natsUrl,
    Path relayJar,
    List<String> relayJavaOpts,
    Path relayLauncher,
    Map<String, String> relayEnv,
    Path peerScript,
    int peerPollMs,
    int peerDefaultPollMs,
    String peerHeap,
    Path resultsDir,
    Duration stallTimeout,
    Duration maxTotal,
    boolean checkpoint,
    List<Mode> modes,
    int eventsPerMessage,
    boolean profile) {

  /** How outboxkit's events are written: rows of the outbox table, or WAL messages. */
  enum Mode {
    /** An outbox row per event (INSERT); the relay reads the table's changes. */
    TABLE("table", Side.OUTBOXKIT),
    /**
     * A transactional logical decoding message per event ({@code pg_logical_emit_message(true,
     * prefix, envelope)}, the envelope written by outbox-core's {@code OutboxEnvelope}).
     */
    MESSAGE("message", Side.OUTBOXKIT_MESSAGES);

    final String flag;
    final Side side;

    Mode(String flag, Side side) {
      this.flag = flag;
      this.side = side;
    }

    static Mode parse(String s) {
      for (Mode m : values()) {
        if (m.flag.equals(s.trim())) {
          return m;
        }
      }
      throw new IllegalArgumentException(
          "--modes: unknown mode '" + s + "'; choose from table, message");
    }
  }

  /** The sides of outboxkit's relay this run measures, one per mode. */
  List<Side> outboxkitSides() {
    return modes.stream().map(m -> m.side).toList();
  }

  boolean runs(Mode m) {
    return modes.contains(m);
  }

  /** The workloads {@code --only} can pick. */
  enum Workload {
    RAW("raw"),
    /** Start → ready, RSS and CPU when idle; part of every relay sequence. */
    START("start"),
    BATCHED("batched"),
    SINGLE("single"),
    LATENCY("latency"),
    DRAIN("drain"),
    PEER_DEFAULT_POLL("peer-default-poll");

    final String flag;

    Workload(String flag) {
      this.flag = flag;
    }

    static Workload parse(String s) {
      for (Workload w : values()) {
        if (w.flag.equals(s.trim())) {
          return w;
        }
      }
      throw new IllegalArgumentException(
          "--only: unknown workload '"
              + s
              + "'; choose from raw, start, batched, single, latency, drain, peer-default-poll");
    }
  }

  boolean runs(Workload w) {
    return only.isEmpty() || only.contains(w);
  }

  /** Whether the relays run at all: not for {@code --only raw}. */
  boolean runsRelays() {
    return only.isEmpty() || only.stream().anyMatch(w -> w != Workload.RAW);
  }

  /**
   * The PostgreSQL server (trust or password auth).
   *
   * @param adminDatabase a database to connect to for CREATE/DROP DATABASE
   * @param database an existing database to work in (schemas are created and dropped there), or
   *     null to create a fresh one per harness run
   */
  record PgServer(
      String host, int port, String user, String password, String adminDatabase, String database) {
    String jdbcUrl(String db) {
      return "jdbc:postgresql://" + host + ":" + port + "/" + db;
    }

    /** Debezium and peer.sh want a non-empty password even under trust auth. */
    String passwordOrUnused() {
      return password == null || password.isEmpty() ? "unused" : password;
    }
  }
}
