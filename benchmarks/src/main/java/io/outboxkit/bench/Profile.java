package io.outboxkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * A JFR profile of the relay during one workload: recorded in the running relay with {@code jcmd
 * <pid> JFR.start settings=profile} … {@code JFR.stop} ({@link Recording}), then its {@code
 * jdk.ExecutionSample} events counted by the method on top of the stack ("self" time), by that
 * method's package and by thread ({@link #summarize}).
 */
final class Profile {
  private Profile() {}

  /** The event JFR takes every 10 ms (settings=profile) of each thread running Java code. */
  static final String EXECUTION_SAMPLE = "jdk.ExecutionSample";

  /**
   * One execution sample.
   *
   * @param thread the sampled thread's name
   * @param method the top frame, {@code package.Class.method}, or {@code (no stack)}
   */
  record Sample(String thread, String method) {
    /** The top frame's package: everything before the class name. */
    String pkg() {
      int paren = method.indexOf('(');
      String m = paren < 0 ? method : method.substring(0, paren);
      int methodDot = m.lastIndexOf('.');
      int classDot = methodDot < 0 ? -1 : m.lastIndexOf('.', methodDot - 1);
      return classDot < 0 ? "(default package)" : m.substring(0, classDot);
    }
  }

  /** One line of a top list: a name, its samples and their share of all samples. */
  record Entry(String name, long samples, double percent) {}

  /** The top lists of one profile. */
  record Summary(long samples, List<Entry> frames, List<Entry> packages, List<Entry> threads) {
    /** Plain text: three top lists with percentages. */
    String text() {
      StringBuilder sb = new StringBuilder();
      sb.append(samples).append(" execution samples\n");
      list(sb, "hottest frames (self)", frames);
      list(sb, "hottest packages (self)", packages);
      list(sb, "threads", threads);
      return sb.toString();
    }

    private static void list(StringBuilder sb, String title, List<Entry> entries) {
      sb.append("  ").append(title).append(":\n");
      for (Entry e : entries) {
        sb.append(
            String.format(
                Locale.ROOT, "  %6.1f %%  %6d  %s%n", e.percent(), e.samples(), e.name()));
      }
    }

    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("samples", samples);
      m.put("frames", frames);
      m.put("packages", packages);
      m.put("threads", threads);
      return m;
    }
  }

  /** Counts samples by top frame, package and thread; each list the {@code top} largest. */
  static Summary summarize(List<Sample> samples, int top) {
    long n = samples.size();
    return new Summary(
        n,
        topBy(samples, Sample::method, top),
        topBy(samples, Sample::pkg, top),
        topBy(samples, Sample::thread, top));
  }

  private static List<Entry> topBy(List<Sample> samples, Function<Sample, String> key, int top) {
    Map<String, Long> counts = new HashMap<>();
    for (Sample s : samples) {
      counts.merge(key.apply(s), 1L, Long::sum);
    }
    List<Entry> out = new ArrayList<>();
    counts.forEach(
        (k, c) -> out.add(new Entry(k, c, samples.isEmpty() ? 0 : c * 100.0 / samples.size())));
    out.sort(Comparator.comparingLong(Entry::samples).reversed().thenComparing(Entry::name));
    return List.copyOf(out.subList(0, Math.min(top, out.size())));
  }

  /** The execution samples of a JFR file. */
  static List<Sample> read(Path jfr) {
    List<Sample> out = new ArrayList<>();
    try (RecordingFile f = new RecordingFile(jfr)) {
      while (f.hasMoreEvents()) {
        RecordedEvent e = f.readEvent();
        if (!e.getEventType().getName().equals(EXECUTION_SAMPLE)) {
          continue;
        }
        RecordedThread t = e.getThread("sampledThread");
        String thread = t == null ? "(unknown)" : String.valueOf(t.getJavaName());
        RecordedStackTrace st = e.getStackTrace();
        String method = "(no stack)";
        if (st != null && !st.getFrames().isEmpty()) {
          RecordedFrame top = st.getFrames().get(0);
          RecordedMethod m = top.getMethod();
          method = m.getType().getName() + "." + m.getName();
        }
        out.add(new Sample(thread, method));
      }
    } catch (IOException e) {
      throw new BenchException("cannot read the JFR recording " + jfr + ": " + e.getMessage(), e);
    }
    return out;
  }

  /** A JFR recording in a running JVM, started and stopped with that JVM's own {@code jcmd}. */
  static final class Recording {
    private static final Duration JCMD_TIMEOUT = Duration.ofSeconds(60);

    private final long pid;
    private final Path file;
    private final Path log;
    private final String jcmd;
    private final String name;

    private Recording(long pid, Path file, Path log) {
      this.pid = pid;
      this.file = file;
      this.log = log;
      this.jcmd = jcmdOf(pid);
      this.name = "obkb-" + ProcessHandle.current().pid() + "-" + pid;
    }

    /**
     * Starts recording in JVM {@code pid} into {@code file}; returns once JFR runs (its start-up
     * cost is then behind us). {@code log} gets jcmd's error output.
     */
    static Recording start(long pid, Path file, Path log) {
      Recording r = new Recording(pid, file, log);
      String out =
          ChildProcess.run(
              List.of(
                  r.jcmd,
                  Long.toString(pid),
                  "JFR.start",
                  "name=" + r.name,
                  "settings=profile",
                  "filename=" + file),
              Map.of(),
              JCMD_TIMEOUT,
              log);
      if (!out.contains("Started recording")) {
        throw new BenchException(
            "jcmd JFR.start did not start a recording in " + pid + ": " + out.strip());
      }
      return r;
    }

    /** Stops the recording (JFR writes the file) and returns its summary. */
    Summary stop(int top) {
      ChildProcess.run(
          List.of(jcmd, Long.toString(pid), "JFR.stop", "name=" + name),
          Map.of(),
          JCMD_TIMEOUT,
          log);
      if (!Files.isRegularFile(file)) {
        throw new BenchException("jcmd JFR.stop wrote no recording at " + file);
      }
      return summarize(read(file), top);
    }

    Path file() {
      return file;
    }

    /** The jcmd beside the JVM's own java (a relay may run on another JDK than the harness). */
    private static String jcmdOf(long pid) {
      Path own =
          ProcessHandle.of(pid)
              .flatMap(h -> h.info().command())
              .map(c -> Path.of(c).resolveSibling("jcmd"))
              .orElse(null);
      if (own != null && Files.isExecutable(own)) {
        return own.toString();
      }
      Path harness = Path.of(System.getProperty("java.home"), "bin", "jcmd");
      if (Files.isExecutable(harness)) {
        return harness.toString();
      }
      throw new BenchException(
          "--profile needs jcmd (a JDK, not a JRE): none beside the relay's java nor in "
              + System.getProperty("java.home"));
    }
  }
}
