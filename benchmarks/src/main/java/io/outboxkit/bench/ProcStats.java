package io.outboxkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Memory and CPU of a process from {@code /proc/<pid>/status} and {@code /proc/<pid>/stat}.
 *
 * @param rssKb resident set size now (VmRSS)
 * @param hwmKb peak resident set size since the process started (VmHWM)
 * @param cpuTicks user + system CPU time so far, in clock ticks (1/100 s on Linux)
 */
record ProcStats(long rssKb, long hwmKb, long cpuTicks) {
  static final double TICKS_PER_SECOND = 100.0;

  /** Reads the process's figures; fails when it is gone. */
  static ProcStats read(long pid) {
    try {
      long rss = -1;
      long hwm = -1;
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          rss = kb(line);
        } else if (line.startsWith("VmHWM:")) {
          hwm = kb(line);
        }
      }
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // fields after the command name "(...)": state is field 3; utime 14, stime 15
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
      return new ProcStats(rss, hwm, ticks);
    } catch (IOException | RuntimeException e) {
      throw new BenchException("cannot read /proc/" + pid + " (process gone?): " + e, e);
    }
  }

  private static long kb(String line) {
    return Long.parseLong(line.replaceAll("[^0-9]", ""));
  }

  /** Samples VmRSS every 100 ms in a daemon thread and keeps the highest value. */
  static final class RssSampler implements AutoCloseable {
    private final long pid;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long maxRssKb;

    RssSampler(long pid) {
      this.pid = pid;
      this.thread = new Thread(this::loop, "rss-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      while (running) {
        try {
          maxRssKb = Math.max(maxRssKb, read(pid).rssKb());
          Thread.sleep(100);
        } catch (BenchException e) {
          return;
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    long maxRssKb() {
      return maxRssKb;
    }

    @Override
    public void close() {
      running = false;
      thread.interrupt();
    }
  }
}
