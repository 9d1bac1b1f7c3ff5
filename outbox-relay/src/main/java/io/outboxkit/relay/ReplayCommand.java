package io.outboxkit.relay;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code outboxkit replay} (or {@code backfill}): republish outbox rows still in the table. */
@Command(
    name = "replay",
    aliases = "backfill",
    mixinStandardHelpOptions = true,
    description = {
      "Republish outbox rows still in the table (resumable, rate-limited).",
      "Republishes the outbox rows still in the table for an id or time range (or --all), in id"
          + " order, with their original ids as Nats-Msg-Id, by the relay's own conversion: the"
          + " stream drops what it still remembers, and consumers' inboxes apply each event once."
          + " Progress is stored under --run; run the same command again to resume after an"
          + " interruption (nothing is stored twice)."
    })
final class ReplayCommand implements Callable<Integer> {
  @Mixin CliOptions options;

  @Option(names = "--all", description = "Every row in the outbox tables.")
  boolean all;

  @Option(
      names = "--from-id",
      description = "From this outbox id (inclusive).",
      paramLabel = "UUID")
  UUID fromId;

  @Option(names = "--to-id", description = "Up to this outbox id (inclusive).", paramLabel = "UUID")
  UUID toId;

  @Option(
      names = "--since",
      description = "Rows created at or after: an ISO time (2026-12-01T10:00:00Z) or an age (2h).",
      paramLabel = "TIME")
  String since;

  @Option(
      names = "--until",
      description = "Rows created before: an ISO time or an age.",
      paramLabel = "TIME")
  String until;

  @Option(
      names = "--rate",
      defaultValue = "1000",
      description = "At most this many events per second (default ${DEFAULT-VALUE}; 0: no limit).")
  double rate;

  @Option(
      names = "--run",
      description = "Name under which progress is stored (default: derived from the range).",
      paramLabel = "NAME")
  String run;

  @Option(names = "--restart", description = "Start the run from its beginning again.")
  boolean restart;

  @Option(names = "--dry-run", description = "Count the rows only.")
  boolean dryRun;

  @Override
  public Integer call() throws Exception {
    if (!all && fromId == null && toId == null && since == null && until == null) {
      options
          .err()
          .println("outboxkit: give a range (--from-id/--to-id, --since/--until) or --all");
      return OutboxkitCli.USAGE;
    }
    OutboxRows.Range range =
        new OutboxRows.Range(fromId, toId, time("--since", since), time("--until", until));
    // The same command again resumes its run, also when its range is an age (2h).
    String args = all + " " + fromId + " " + toId + " " + since + " " + until;
    String name = run != null ? run : "replay-" + Integer.toHexString(args.hashCode());
    try (CliSession s = new CliSession(options.settings())) {
      StateTables.migrate(s.settings);
      Replay replay = new Replay(s, new Republisher(s, rate));
      if (dryRun) {
        long n = replay.count(range);
        if (!options.printJson(Map.of("run", name, "range", range.toString(), "rows", n))) {
          options.out().printf("would replay %d rows (%s) as run %s%n", n, range, name);
          options.out().flush();
        }
        return OutboxkitCli.OK;
      }
      Replay.Result r;
      try (Progress p =
          new Progress(options.err(), "replay " + name, replay.count(range), !options.json)) {
        r = replay.run(name, range, run == null, 0, restart, p::step);
      }
      if (!options.printJson(r.asMap())) {
        print(options.out(), r);
      }
      return OutboxkitCli.OK;
    }
  }

  static void print(PrintWriter out, Replay.Result r) {
    if (r.alreadyFinished()) {
      out.printf(
          "run %s finished before (%d published, %d already in the stream, %d dead-lettered):"
              + " nothing to do; --restart to run it again%n",
          r.run(), r.published(), r.skipped(), r.deadLettered());
    } else {
      out.printf(
          "run %s%s: %d rows, %d published, %d already in the stream, %d dead-lettered%n",
          r.run(),
          r.resumed() ? " (resumed)" : "",
          r.total(),
          r.published(),
          r.skipped(),
          r.deadLettered());
    }
    out.flush();
  }

  private static OffsetDateTime time(String option, String value) {
    try {
      return value == null ? null : new TimeConverter().convert(value);
    } catch (CommandLine.TypeConversionException e) {
      throw new CommandLine.ParameterException(
          new CommandLine(new ReplayCommand()), option + ": " + e.getMessage());
    }
  }

  /**
   * An ISO-8601 time ({@code 2026-12-01T10:00:00Z}) or an age before now ({@code 90m}, {@code 2h}).
   */
  static final class TimeConverter implements CommandLine.ITypeConverter<OffsetDateTime> {
    @Override
    public OffsetDateTime convert(String value) {
      String v = value.trim();
      if (v.matches("\\d+[smhd]")) {
        long n = Long.parseLong(v.substring(0, v.length() - 1));
        Duration d =
            switch (v.charAt(v.length() - 1)) {
              case 's' -> Duration.ofSeconds(n);
              case 'm' -> Duration.ofMinutes(n);
              case 'h' -> Duration.ofHours(n);
              default -> Duration.ofDays(n);
            };
        return OffsetDateTime.now(ZoneOffset.UTC).minus(d);
      }
      try {
        return OffsetDateTime.parse(v);
      } catch (DateTimeParseException e) {
        try {
          return Instant.parse(v).atOffset(ZoneOffset.UTC);
        } catch (DateTimeParseException e2) {
          throw new CommandLine.TypeConversionException(
              "'" + value + "' is neither an ISO time (2026-12-01T10:00:00Z) nor an age (2h)");
        }
      }
    }
  }
}
