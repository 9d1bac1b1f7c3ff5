package io.outboxkit.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A PostgreSQL server of its own, from the binaries in {@code /usr/lib/postgresql/<version>/bin}
 * (or {@code OUTBOXKIT_PG_BIN}), on a free port with {@code wal_level=logical} and trust auth for
 * user {@code postgres}. Run as root, it runs the server as the {@code postgres} OS user. Its data
 * survives {@link #kill()} and {@link #stop()}.
 *
 * <pre>{@code
 * try (PostgresProcess pg = PostgresProcess.launch()) {
 *   pg.kill();      // SIGKILL of the postmaster: a crash
 *   pg.start();     // crash recovery, same port and data
 * }
 * }</pre>
 */
public final class PostgresProcess implements AutoCloseable {
  private final Path bin;
  private final Path dir;
  private final Path data;
  private final int port;
  private final boolean asPostgresUser;

  private PostgresProcess(Path bin, java.util.Map<String, String> settings) {
    this(bin, settings, List.of(), java.util.Map.of());
  }

  private PostgresProcess(
      Path bin,
      java.util.Map<String, String> settings,
      List<String> hba,
      java.util.Map<String, Path> files) {
    this.bin = bin;
    this.port = Ports.free();
    this.asPostgresUser = "root".equals(System.getProperty("user.name"));
    try {
      this.dir = Files.createTempDirectory("outboxkit-pg-");
      this.data = dir.resolve("data");
      if (asPostgresUser) {
        run(List.of("chown", "postgres", dir.toString()), false);
      }
      run(
          List.of(
              bin.resolve("initdb").toString(),
              "-D",
              data.toString(),
              "-U",
              "postgres",
              "--auth=trust",
              "-E",
              "UTF8",
              "--locale=C",
              "--no-sync"),
          true);
      Files.writeString(
          data.resolve("postgresql.auto.conf"),
          String.join(
              "\n",
              "listen_addresses = '127.0.0.1'",
              "port = " + port,
              "unix_socket_directories = '" + dir + "'",
              "wal_level = logical",
              "max_replication_slots = 32",
              "max_wal_senders = 32",
              "max_connections = 200",
              "shared_buffers = 128MB",
              "fsync = off",
              "full_page_writes = off",
              "synchronous_commit = on",
              ""),
          java.nio.file.StandardOpenOption.APPEND);
      StringBuilder extra = new StringBuilder();
      settings.forEach((k, v) -> extra.append(k).append(" = '").append(v).append("'\n"));
      Files.writeString(
          data.resolve("postgresql.auto.conf"),
          extra.toString(),
          java.nio.file.StandardOpenOption.APPEND);
      if (!hba.isEmpty()) {
        // The fixture itself connects as postgres without a password: keep that line first.
        Files.writeString(
            data.resolve("pg_hba.conf"),
            "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\n"
                + String.join("\n", hba)
                + "\n");
      }
      for (java.util.Map.Entry<String, Path> f : files.entrySet()) {
        Path target = data.resolve(f.getKey());
        Files.copy(f.getValue(), target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        if (asPostgresUser) {
          run(List.of("chown", "postgres", target.toString()), false);
        }
        run(List.of("chmod", "600", target.toString()), false);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Initializes and starts a new server; fails with a clear message when no binaries exist. */
  public static PostgresProcess launch() {
    return launch(java.util.Map.of());
  }

  /**
   * Initializes and starts a new server with extra {@code postgresql.conf} settings, which win over
   * the defaults (e.g. {@code wal_level=replica} to test the relay's check).
   */
  public static PostgresProcess launch(java.util.Map<String, String> settings) {
    PostgresProcess pg = new PostgresProcess(findBinaries(), settings);
    pg.start();
    return pg;
  }

  /**
   * A server with extra settings, {@code pg_hba.conf} lines (after the fixture's own trust lines
   * for {@code postgres}) and files copied into the data directory (e.g. {@code server.key} for
   * {@code ssl_key_file}), readable only by the server.
   */
  public static PostgresProcess launch(
      java.util.Map<String, String> settings, List<String> hba, java.util.Map<String, Path> files) {
    PostgresProcess pg = new PostgresProcess(findBinaries(), settings, hba, files);
    pg.start();
    return pg;
  }

  /** Whether local PostgreSQL binaries can be found. */
  public static boolean available() {
    try {
      findBinaries();
      return true;
    } catch (IllegalStateException e) {
      return false;
    }
  }

  static Path findBinaries() {
    String configured = System.getenv("OUTBOXKIT_PG_BIN");
    if (configured != null && !configured.isBlank()) {
      Path p = Path.of(configured);
      if (Files.isExecutable(p.resolve("initdb"))) {
        return p;
      }
      throw new IllegalStateException("OUTBOXKIT_PG_BIN=" + configured + " has no initdb");
    }
    Path root = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(root)) {
      try (Stream<Path> versions = Files.list(root)) {
        return versions
            .map(v -> v.resolve("bin"))
            .filter(b -> Files.isExecutable(b.resolve("initdb")))
            .max(Comparator.comparing(b -> versionOf(b.getParent())))
            .orElseThrow(() -> noBinaries());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    throw noBinaries();
  }

  private static int versionOf(Path dir) {
    try {
      return Integer.parseInt(dir.getFileName().toString());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static IllegalStateException noBinaries() {
    return new IllegalStateException(
        "no PostgreSQL binaries in /usr/lib/postgresql/*/bin: install them (Debian: apt-get install"
            + " postgresql), set OUTBOXKIT_PG_BIN, or set OUTBOXKIT_PG_URL to a server with"
            + " wal_level=logical");
  }

  /** Starts the server (crash recovery after {@link #kill()}) and waits until it answers. */
  public synchronized void start() {
    Ports.await(
        "PostgreSQL on port " + port + " to start",
        Duration.ofSeconds(60),
        () -> {
          if (isRunning()) {
            return true;
          }
          try {
            run(
                List.of(
                    bin.resolve("pg_ctl").toString(),
                    "-D",
                    data.toString(),
                    "-l",
                    dir.resolve("server.log").toString(),
                    "-w",
                    "-t",
                    "60",
                    "start"),
                true);
          } catch (IllegalStateException e) {
            // Orphaned backends of a killed postmaster may still hold shared memory: retry.
          }
          return isRunning();
        });
  }

  /** A fast, clean shutdown. */
  public synchronized void stop() {
    if (isRunning()) {
      run(
          List.of(
              bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"),
          true);
    }
  }

  /** SIGKILL of the postmaster: every connection drops at once, as in a crash. */
  public synchronized void kill() {
    Long pid = postmasterPid();
    if (pid != null) {
      run(List.of("kill", "-9", Long.toString(pid)), false);
      Ports.await(
          "the killed postmaster to exit",
          Duration.ofSeconds(30),
          () -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
    }
  }

  /** {@code pg_ctl restart -m fast}: what an operator's restart looks like. */
  public synchronized void restart() {
    stop();
    start();
  }

  public boolean isRunning() {
    if (!Ports.listening(port)) {
      return false;
    }
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), "postgres", "")) {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  private Long postmasterPid() {
    try {
      Path pidFile = data.resolve("postmaster.pid");
      if (!Files.exists(pidFile)) {
        return null;
      }
      return Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  public int port() {
    return port;
  }

  public String host() {
    return "127.0.0.1";
  }

  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  @Override
  public synchronized void close() {
    Long pid = postmasterPid();
    if (pid != null && isRunning()) {
      try {
        run(
            List.of(
                bin.resolve("pg_ctl").toString(),
                "-D",
                data.toString(),
                "-m",
                "immediate",
                "-w",
                "stop"),
            true);
      } catch (IllegalStateException e) {
        kill();
      }
    }
    TempDirs.delete(dir);
  }

  private void run(List<String> command, boolean asPostgres) {
    List<String> full = new ArrayList<>();
    if (asPostgres && asPostgresUser) {
      full.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    full.addAll(command);
    Command.Result r = Command.exec(dir, full, Map.of());
    if (r.exitCode() != 0) {
      throw new IllegalStateException(
          String.join(" ", full) + " failed with " + r.exitCode() + ": " + r.output());
    }
  }
}
