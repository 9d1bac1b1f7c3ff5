package io.outboxkit.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A command-line tool a test runs to completion ({@code promtool}, {@code psql}): found on {@code
 * PATH}, or the test fails naming how to install it.
 *
 * <pre>{@code
 * Command promtool = Command.onPath("promtool", "apt-get install prometheus");
 * Command.Result r = promtool.run(dir, "check", "rules", "alerts.yml");
 * assertThat(r.exitCode()).as(r.output()).isZero();
 * }</pre>
 */
public final class Command {
  private static final Duration TIMEOUT = Duration.ofMinutes(2);
  private final Path binary;
  private final Map<String, String> env;

  private Command(Path binary, Map<String, String> env) {
    this.binary = binary;
    this.env = env;
  }

  /** What a run printed (stdout and stderr together) and how it ended. */
  public record Result(int exitCode, String output) {}

  /** The tool {@code name} on PATH; throws naming {@code installHint} when there is none. */
  public static Command onPath(String name, String installHint) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isExecutable(candidate)) {
        return new Command(candidate, Map.of());
      }
    }
    throw new IllegalStateException(
        name + " is not on PATH (" + System.getenv("PATH") + "): install it: " + installHint);
  }

  /** The same tool with these environment variables added (e.g. PGPASSWORD). */
  public Command withEnv(Map<String, String> variables) {
    return new Command(binary, Map.copyOf(variables));
  }

  /** Runs the tool in {@code dir} with {@code args}; waits up to two minutes for it to end. */
  public Result run(Path dir, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(binary.toString());
    cmd.addAll(List.of(args));
    return exec(dir, cmd, env);
  }

  /**
   * Runs {@code cmd} in {@code dir} with {@code env} added to this JVM's environment; waits up to
   * two minutes for it to end, then kills it and throws.
   */
  public static Result exec(Path dir, List<String> cmd, Map<String, String> env) {
    try {
      Path out = Files.createTempFile("outboxkit-cmd-", ".out");
      try {
        ProcessBuilder pb =
            new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile());
        pb.environment().putAll(env);
        Process process = pb.start();
        if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          throw new IllegalStateException(
              String.join(" ", cmd) + " did not end within " + TIMEOUT + ": " + read(out));
        }
        return new Result(process.exitValue(), read(out));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + cmd, e);
    }
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }
}
