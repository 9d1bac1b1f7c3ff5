package io.outboxkit.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Processes the harness starts: every one gets {@link Names#OWNER_ENV} in its environment, writes
 * stdout and stderr to a log file, and is waited for with a deadline.
 */
final class ChildProcess {
  private ChildProcess() {}

  /**
   * Starts {@code cmd} in the background, output appended to {@code log}; a null value in {@code
   * env} removes that variable from the inherited environment.
   */
  static Process launch(List<String> cmd, Map<String, String> env, Path dir, Path log) {
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    if (dir != null) {
      pb.directory(dir.toFile());
    }
    env.forEach(
        (k, v) -> {
          if (v == null) {
            pb.environment().remove(k);
          } else {
            pb.environment().put(k, v);
          }
        });
    pb.environment().put(Names.OWNER_ENV, Long.toString(ProcessHandle.current().pid()));
    try {
      Files.createDirectories(log.getParent());
      return pb.start();
    } catch (IOException e) {
      throw new BenchException("cannot start " + cmd.get(0) + ": " + e.getMessage(), e);
    }
  }

  /**
   * Runs {@code cmd} to its end and returns its stdout; stderr goes to {@code log}. Fails when it
   * exits non-zero (with the log's tail) or runs longer than {@code timeout} (then it is killed).
   */
  static String run(List<String> cmd, Map<String, String> env, Duration timeout, Path log) {
    Path out;
    try {
      Files.createDirectories(log.getParent());
      out = Files.createTempFile(log.getParent(), "stdout-", ".txt");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    pb.environment().putAll(env);
    pb.environment().put(Names.OWNER_ENV, Long.toString(ProcessHandle.current().pid()));
    try {
      Process p = pb.start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill(p, Duration.ofSeconds(5));
        throw new BenchException(
            String.join(" ", cmd) + " did not finish within " + timeout + "; log " + log);
      }
      String stdout = Files.readString(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new BenchException(
            String.join(" ", cmd)
                + " exited with "
                + p.exitValue()
                + "; last lines of "
                + log
                + ":\n"
                + tail(log, 25));
      }
      return stdout;
    } catch (IOException e) {
      throw new BenchException("cannot run " + cmd.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted while running " + cmd.get(0), e);
    } finally {
      try {
        Files.deleteIfExists(out);
      } catch (IOException e) {
        // a temp file
      }
    }
  }

  /** SIGTERM, then SIGKILL after {@code grace}; children too. Returns the exit code or -1. */
  static int kill(Process p, Duration grace) {
    List<ProcessHandle> children = p.descendants().toList();
    p.destroy();
    try {
      if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
    children.forEach(ProcessHandle::destroyForcibly);
    return p.isAlive() ? -1 : p.exitValue();
  }

  /** The last {@code lines} lines of a log file, or a note that there is none. */
  static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(no log at " + log + ")";
    }
  }
}
