package io.outboxkit.bench;

import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * {@code benchmarks/run}: measures outboxkit's relay beside the raw limits and Debezium Server and
 * prints one table (docs/benchmarks.md). Exit status 0 when every figure was measured, 1 when some
 * failed (the table says which), 2 for a wrong option, 3 when the time limit ran out. Whatever
 * happens (failure, Ctrl-C, time limit), the processes, slots, databases and streams it made are
 * removed.
 */
public final class BenchMain {
  private static final Logger log = LoggerFactory.getLogger("bench");

  private BenchMain() {}

  public static void main(String[] args) {
    BenchConfig cfg;
    try {
      cfg = BenchArgs.parse(args);
    } catch (BenchArgs.HelpRequested e) {
      System.out.print(BenchArgs.usage());
      return;
    } catch (CommandLine.ParameterException e) {
      System.err.println("benchmarks/run: " + e.getMessage() + " (see --help)");
      System.exit(2);
      return;
    }
    Cleanup cleanup = new Cleanup();
    java.util.concurrent.atomic.AtomicBoolean finished =
        new java.util.concurrent.atomic.AtomicBoolean();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  if (!finished.get()) {
                    log.warn(
                        "stopped before the end: removing the processes, slots, databases"
                            + " and streams this run made");
                  }
                  cleanup.runAll();
                },
                "bench-cleanup"));
    Thread watchdog =
        new Thread(
            () -> {
              try {
                Thread.sleep(cfg.maxTotal().toMillis());
              } catch (InterruptedException e) {
                return;
              }
              log.error(
                  "time limit of {} min reached (--max-minutes): cleaning up and exiting",
                  cfg.maxTotal().toMinutes());
              System.exit(3);
            },
            "bench-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    int status;
    try {
      Bench.Outcome o = new Bench(cfg, cleanup, List.of(args)).run();
      System.out.println();
      System.out.print(o.preamble());
      System.out.println();
      System.out.print(o.report().text());
      String stages = o.report().stagesText();
      if (!stages.isEmpty()) {
        System.out.println();
        System.out.print(stages);
      }
      String profiles = o.report().profilesText();
      if (!profiles.isEmpty()) {
        System.out.println();
        System.out.print(profiles);
      }
      System.out.println();
      o.files().forEach(f -> System.out.println("written: " + f));
      status = o.results().hasErrors() ? 1 : 0;
      if (status != 0) {
        System.out.println("some figures could not be measured: see the notes column and the log");
      }
    } catch (BenchException e) {
      log.error("benchmark failed: {}", e.getMessage());
      status = 1;
    } catch (Exception e) {
      log.error("benchmark failed", e);
      status = 1;
    }
    finished.set(true);
    watchdog.interrupt();
    System.exit(status);
  }
}
