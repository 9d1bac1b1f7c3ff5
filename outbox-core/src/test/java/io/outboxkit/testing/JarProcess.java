package io.outboxkit.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A module's runnable jar ({@code ../<module>/target/<module>-*.jar}) as a separate process,
 * configured by environment variables, that a test can SIGKILL, SIGTERM and start again. Its output
 * goes to a temporary log file, whose tail is quoted when something goes wrong.
 *
 * <p>The first run of a jar that ends by SIGTERM writes a class-data archive of what it loaded (JDK
 * dynamic CDS, in {@code target/test-cds}); later starts of that jar load their classes from it,
 * about 2.5 s sooner on this 2-core machine (a relay test suite starts the relay over a hundred
 * times). A run that is killed writes nothing; a rebuilt jar gets an archive of its own.
 *
 * <pre>{@code
 * try (JarProcess relay = new JarProcess("outbox-relay", env).start()) {
 *   relay.awaitHttp(healthUrl, body -> body.contains("STREAMING"), Duration.ofSeconds(90));
 *   relay.kill(); // a crash
 *   relay.start();
 * }
 * }</pre>
 */
public final class JarProcess implements AutoCloseable {
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final String module;
  private final Map<String, String> env;
  private final List<String> args;
  private final Path log;
  private Process process;

  /** Archives being written by a run: one per jar at a time. */
  private static final Set<Path> RECORDING = ConcurrentHashMap.newKeySet();

  /**
   * The archive this run writes at its exit (under a temporary name, {@link #recording}), or null.
   */
  private Path recordingFor;

  /** The temporary file the JVM writes that archive to, or null. */
  private Path recording;

  public JarProcess(String module, Map<String, String> env, String... args) {
    this.module = module;
    this.env = new LinkedHashMap<>(env);
    this.args = List.of(args);
    try {
      this.log = Files.createTempFile("outboxkit-" + module + "-", ".log");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The module's runnable jar, found from any module's directory (the tests' working dir). */
  public static Path jar(String module) {
    Path target = Path.of("..", module, "target");
    try (Stream<Path> files = Files.list(target)) {
      return files
          .filter(p -> p.getFileName().toString().matches(module + "-.*\\.jar"))
          .filter(p -> !p.getFileName().toString().contains("original"))
          .filter(p -> !p.getFileName().toString().contains("tests"))
          .findFirst()
          .orElseThrow(() -> new IllegalStateException("no jar in " + target + ": run package"));
    } catch (IOException e) {
      throw new IllegalStateException(
          "no " + target + ": build the module first (./mvnw verify builds everything)", e);
    }
  }

  /** Starts the jar (again, after {@link #kill()}); output is appended to the same log. */
  public JarProcess start() {
    settleArchive(false); // a run that exited by itself (a start-up error) records nothing
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    Path jar = jar(module).toAbsolutePath();
    cmd.addAll(classData(jar));
    cmd.add("-jar");
    cmd.add(jar.toString());
    cmd.addAll(args);
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().putAll(env);
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /** JVM options that use the jar's class-data archive, or record it if no run has yet. */
  private List<String> classData(Path jar) {
    Path archive;
    try {
      Path dir = Files.createDirectories(jar.resolveSibling("test-cds"));
      archive =
          dir.resolve(
              jar.getFileName()
                  + "-"
                  + Files.size(jar)
                  + "-"
                  + Files.getLastModifiedTime(jar).toMillis()
                  + ".jsa");
    } catch (IOException e) {
      return List.of(); // no archive: the JVM starts as it would without one
    }
    List<String> quiet = List.of("-Xlog:cds=off", "-Xlog:cds+dynamic=off");
    List<String> options = new ArrayList<>();
    if (Files.isRegularFile(archive)) {
      options.add("-XX:SharedArchiveFile=" + archive);
    } else if (RECORDING.add(archive)) {
      recordingFor = archive;
      recording = archive.resolveSibling(archive.getFileName() + "." + System.nanoTime() + ".tmp");
      options.add("-XX:ArchiveClassesAtExit=" + recording);
    } else {
      return List.of();
    }
    options.addAll(quiet);
    return options;
  }

  /**
   * After the process ended: keeps the archive it wrote if it stopped by SIGTERM ({@code clean}),
   * else drops it.
   */
  private void settleArchive(boolean clean) {
    Path tmp = recording;
    if (tmp == null || process == null || process.isAlive()) {
      return;
    }
    Path archive = recordingFor;
    recording = null;
    recordingFor = null;
    try {
      if (clean && Files.isRegularFile(tmp) && Files.size(tmp) > 0) {
        Files.move(tmp, archive, StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException e) {
      // without an archive the next start is slower, not different
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException e) {
        // a temp file left in target/ is harmless
      }
      RECORDING.remove(archive);
    }
  }

  /** Waits until GET {@code url} answers 200 with a body that {@code body} accepts. */
  public JarProcess awaitHttp(String url, Predicate<String> body, Duration timeout) {
    Ports.await(
        module + " at " + url + "; log:\n" + logTail(),
        timeout,
        () -> {
          checkAlive();
          String answer = get(url);
          return answer != null && body.test(answer);
        });
    return this;
  }

  /** The body of a 200 answer to GET {@code url}; null for any other answer or none. */
  public static String get(String url) {
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** Throws, quoting the exit code and the log's tail, when the process has ended. */
  public void checkAlive() {
    if (!process.isAlive()) {
      throw new IllegalStateException(
          module + " exited with " + process.exitValue() + "; log:\n" + logTail());
    }
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** Waits for the process to end; its exit code. */
  public int awaitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(
            module + " still runs after " + timeout + "; log:\n" + logTail());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + module, e);
    }
    return process.exitValue();
  }

  /** The process id (for signals a test sends itself). */
  public long pid() {
    return process.pid();
  }

  /**
   * Sends a signal by name with {@code kill -<name>}: {@code STOP} freezes the process (its kernel
   * still answers TCP), {@code CONT} wakes it.
   */
  public void signal(String name) {
    Command.Result r =
        Command.exec(log.getParent(), List.of("kill", "-" + name, Long.toString(pid())), Map.of());
    if (r.exitCode() != 0) {
      throw new IllegalStateException("kill -" + name + " " + pid() + " failed: " + r.output());
    }
  }

  /**
   * Whether this run is the one writing its jar's class-data archive at exit (which needs a SIGTERM
   * stop: {@link #terminate} or {@link #close}).
   */
  public boolean recordsClassData() {
    return recording != null;
  }

  /** SIGKILL: a crash, no shutdown hooks. Waits until the process is gone. */
  public void kill() {
    process.destroyForcibly();
    awaitExit(Duration.ofSeconds(30));
    settleArchive(false);
  }

  /** SIGTERM, then waits for the exit; the exit code. */
  public int terminate(Duration timeout) {
    process.destroy();
    int exit = awaitExit(timeout);
    settleArchive(true);
    return exit;
  }

  /** Everything the process wrote so far. */
  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "";
    }
  }

  /** The last 6,000 characters of the log, for failure messages. */
  public String logTail() {
    String all = log();
    return all.length() > 6000 ? all.substring(all.length() - 6000) : all;
  }

  /** SIGTERM, SIGKILL after 30 s; the log file is deleted. */
  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      process.destroy();
      boolean clean = false;
      try {
        clean = process.waitFor(30, TimeUnit.SECONDS);
        if (!clean) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      settleArchive(clean);
    }
    settleArchive(false);
    try {
      Files.deleteIfExists(log);
    } catch (IOException e) {
      // a temp file left behind is harmless
    }
  }
}
