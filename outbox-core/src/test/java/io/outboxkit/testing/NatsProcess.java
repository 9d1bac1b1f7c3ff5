package io.outboxkit.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private {@code nats-server -js} process on a free port, for tests that stop, kill or restart
 * the broker. Its JetStream store survives {@link #kill()} and {@link #stop()}, so {@link #start()}
 * brings the same streams back.
 *
 * <pre>{@code
 * try (NatsProcess nats = NatsProcess.launch(NatsProcess.options())) {
 *   nats.kill();   // SIGKILL
 *   nats.start();  // same port, same store
 * }
 * }</pre>
 */
public final class NatsProcess implements AutoCloseable {
  private final int port;
  private final Path dir;
  private final Path config;
  private Process process;

  /**
   * Options of a private server.
   *
   * @param maxPayload the server's max_payload in bytes; 0 for the default (1 MiB)
   * @param config further configuration lines (authorization, tls, accounts blocks)
   */
  public record Options(long maxPayload, String config) {
    public Options withMaxPayload(long bytes) {
      return new Options(bytes, config);
    }

    /**
     * Adds configuration, e.g. {@code authorization { token: "s3cret" }} or a {@code tls} block.
     */
    public Options withConfig(String lines) {
      return new Options(maxPayload, config + lines + "\n");
    }
  }

  public static Options options() {
    return new Options(0, "");
  }

  private NatsProcess(Options options) {
    this(
        Ports.free(),
        (options.maxPayload() > 0 ? "max_payload: " + options.maxPayload() + "\n" : "")
            + options.config());
  }

  /** A server on {@code port} with extra configuration lines (e.g. a cluster block). */
  NatsProcess(int port, String extraConfig) {
    this.port = port;
    try {
      this.dir = Files.createTempDirectory("outboxkit-nats-");
      this.config = dir.resolve("nats.conf");
      String conf =
          "listen: 127.0.0.1:"
              + port
              + "\njetstream {\n  store_dir: \""
              + dir.resolve("js")
              + "\"\n}\n"
              + extraConfig;
      Files.writeString(config, conf);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts a new private server. */
  public static NatsProcess launch(Options options) {
    NatsProcess nats = new NatsProcess(options);
    nats.start();
    return nats;
  }

  /** The binary: {@code nats-server} on PATH, or {@code /usr/sbin/nats-server}. */
  static String binary() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, "nats-server"))) {
        return Path.of(dir, "nats-server").toString();
      }
    }
    if (Files.isExecutable(Path.of("/usr/sbin/nats-server"))) {
      return "/usr/sbin/nats-server";
    }
    throw new IllegalStateException(
        "nats-server is not installed: install it (Debian: apt-get install nats-server) or set"
            + " OUTBOXKIT_NATS_URL to a NATS server with JetStream");
  }

  /** Starts (or restarts) the server on its port and waits until it accepts connections. */
  public synchronized void start() {
    if (process != null && process.isAlive()) {
      return;
    }
    try {
      process =
          new ProcessBuilder(List.of(binary(), "-c", config.toString()))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("nats.log").toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Ports.await(
        "nats-server on port " + port,
        Duration.ofSeconds(30),
        () -> {
          if (!process.isAlive()) {
            throw new IllegalStateException(
                "nats-server exited with "
                    + process.exitValue()
                    + "; see "
                    + dir.resolve("nats.log"));
          }
          return Ports.listening(port);
        });
  }

  /** Changes max_payload for the next {@link #start()}; the server must be stopped. */
  public synchronized void maxPayloadOnNextStart(long bytes) {
    if (isRunning()) {
      throw new IllegalStateException("stop the server before changing its configuration");
    }
    try {
      String conf = Files.readString(config).replaceAll("(?m)^max_payload: .*\\n", "");
      Files.writeString(config, conf + "max_payload: " + bytes + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** SIGTERM and wait: a graceful stop. */
  public synchronized void stop() {
    end(false);
  }

  /** SIGKILL: the server dies at once, as in a crash. */
  public synchronized void kill() {
    end(true);
  }

  private void end(boolean force) {
    if (process == null) {
      return;
    }
    if (force) {
      process.destroyForcibly();
    } else {
      process.destroy();
    }
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Ports.await("port " + port + " to close", Duration.ofSeconds(10), () -> !Ports.listening(port));
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  public int port() {
    return port;
  }

  public String url() {
    return "nats://127.0.0.1:" + port;
  }

  @Override
  public void close() {
    kill();
    TempDirs.delete(dir);
  }
}
