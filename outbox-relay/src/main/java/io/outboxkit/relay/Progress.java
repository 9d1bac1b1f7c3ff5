package io.outboxkit.relay;

import java.io.PrintWriter;

/**
 * A progress bar on standard error for long work: redrawn in place on a terminal, a line every few
 * seconds otherwise, nothing with {@code --json}.
 */
final class Progress implements AutoCloseable {
  private static final int WIDTH = 30;
  private final PrintWriter err;
  private final String what;
  private final long total;
  private final boolean enabled;
  private final boolean terminal;
  private final long started = System.nanoTime();
  private long last;
  private long done;

  Progress(PrintWriter err, String what, long total, boolean enabled) {
    this.err = err;
    this.what = what;
    this.total = total;
    this.enabled = enabled;
    this.terminal = System.console() != null;
  }

  void step(long done) {
    this.done = done;
    long now = System.nanoTime();
    if (!enabled || now - last < (terminal ? 200_000_000L : 5_000_000_000L)) {
      return;
    }
    last = now;
    draw();
  }

  private void draw() {
    double secs = Math.max(0.001, (System.nanoTime() - started) / 1e9);
    String line;
    if (total > 0) {
      int filled = (int) Math.min(WIDTH, done * WIDTH / total);
      line =
          String.format(
              "%s [%s%s] %d/%d %3d%% %.0f/s",
              what,
              "#".repeat(filled),
              " ".repeat(WIDTH - filled),
              done,
              total,
              Math.min(100, done * 100 / total),
              done / secs);
    } else {
      line = String.format("%s %d %.0f/s", what, done, done / secs);
    }
    err.print(terminal ? "\r" + line : line + System.lineSeparator());
    err.flush();
  }

  @Override
  public void close() {
    if (enabled) {
      draw();
      if (terminal) {
        err.println();
      }
      err.flush();
    }
  }
}
