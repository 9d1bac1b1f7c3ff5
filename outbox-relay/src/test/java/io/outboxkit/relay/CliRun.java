package io.outboxkit.relay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.outboxkit.testing.JarProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The outboxkit CLI run as operators run it: {@code outbox-relay/bin/outboxkit} in a process. */
final class CliRun {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What a run printed and its exit status. */
  record Result(int exit, String out, String err) {
    JsonNode json() {
      try {
        return JSON.readTree(out);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "not JSON (exit " + exit + ", stderr " + err + "): " + out, e);
      }
    }

    @Override
    public String toString() {
      return "exit " + exit + "\nstdout:\n" + out + "\nstderr:\n" + err;
    }
  }

  private final Map<String, String> env;

  CliRun(Map<String, String> env) {
    this.env = env;
  }

  /** Starts the CLI; output goes to the two files. */
  Process start(Path out, Path err, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of("bin", "outboxkit").toAbsolutePath().toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().putAll(env);
    pb.environment()
        .put("OUTBOXKIT_RELAY_JAR", JarProcess.jar("outbox-relay").toAbsolutePath().toString());
    try {
      return pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs the CLI to its end (at most 3 minutes). */
  Result run(String... args) {
    try {
      Path out = Files.createTempFile("outboxkit-cli-", ".out");
      Path err = Files.createTempFile("outboxkit-cli-", ".err");
      try {
        Process p = start(out, err, args);
        if (!p.waitFor(3, TimeUnit.MINUTES)) {
          p.destroyForcibly();
          throw new IllegalStateException("outboxkit " + String.join(" ", args) + " hangs");
        }
        return new Result(
            p.exitValue(),
            Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
