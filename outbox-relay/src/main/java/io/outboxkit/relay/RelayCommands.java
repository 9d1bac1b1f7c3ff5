package io.outboxkit.relay;

import io.outboxkit.TableName;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code outboxkit relay reset}: the safe recovery after the relay refused to start. */
@Command(
    name = "relay",
    mixinStandardHelpOptions = true,
    description = "Reset the relay's state after it refused to start (dropped slot, lost offsets).",
    subcommands = {RelayCommands.Reset.class})
final class RelayCommands implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** What is wrong with the relay's state, and what resetting it takes. */
  enum Problem {
    NONE("the slot and the stored offsets agree: nothing to reset"),
    SLOT_DROPPED(
        "the replication slot is gone: the WAL of events committed since the last stored offset"
            + " may be gone with it"),
    SLOT_LOST(
        "the slot lost WAL it needs (wal_status lost, e.g. max_slot_wal_keep_size): events after"
            + " the last stored offset cannot be streamed from it"),
    SLOT_ADVANCED(
        "the slot was advanced past the relay's stored offset by another client: events in"
            + " between were never relayed"),
    OFFSETS_LOST(
        "the stored offsets are missing, though the relay streamed from this slot: the slot still"
            + " holds every event it has not confirmed"),
    OFFSETS_CORRUPT(
        "the stored offsets do not parse: the slot still holds every event it has not confirmed");

    final String text;

    Problem(String text) {
      this.text = text;
    }
  }

  @Command(
      name = "reset",
      mixinStandardHelpOptions = true,
      description = {
        "Recovers a relay that refused to start because its slot was dropped, its offsets were"
            + " lost or corrupt, or its slot was advanced by someone else. Says what happened,"
            + " which gap exists and what will be republished, then with --yes: takes the relay's"
            + " lock (no relay may run meanwhile), creates the slot again when it is gone, deletes"
            + " the offsets and slot records the relay would not start with, and republishes the"
            + " outbox rows still in the table from the gap (a replay run; run the command again"
            + " to resume it). Then start the relay."
      })
  static final class Reset implements Callable<Integer> {
    @Mixin CliOptions options;

    @Option(
        names = "--since",
        description =
            "Republish rows created at or after this time (default: the last stored offset's time"
                + " minus --margin).",
        paramLabel = "TIME")
    String since;

    @Option(
        names = "--margin",
        defaultValue = "PT10M",
        description =
            "Before the last offset's time, to cover transactions open across it (default"
                + " ${DEFAULT-VALUE}; ISO duration).")
    Duration margin;

    @Option(
        names = "--rate",
        defaultValue = "1000",
        description = "At most this many events per second (default ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--yes", description = "Do it (without: say what it would do).")
    boolean yes;

    @Override
    public Integer call() throws Exception {
      try (CliSession s = new CliSession(options.settings())) {
        RelaySettings st = s.settings;
        Map<String, Object> r = new LinkedHashMap<>();
        RelayState state;
        Integer holder;
        try (Connection c = s.db.connect()) {
          state = RelayState.read(s, c);
          holder = Leadership.holder(c, st.slot());
        }
        Problem problem = diagnose(state);
        r.put("slot", st.slot());
        r.put("problem", problem.name().toLowerCase(java.util.Locale.ROOT));
        r.put("what", problem.text);
        r.put("offsets", state.asMap());
        r.put(
            "slotConfirmedLsn",
            state.slotConfirmedLsn() == null ? null : OffsetLsn.format(state.slotConfirmedLsn()));
        if (holder != null) {
          r.put("relayRunning", true);
          r.put("done", false);
          if (!options.printJson(r)) {
            options
                .err()
                .printf(
                    "outboxkit: a relay holds the lock of slot %s (backend pid %d): it is running,"
                        + " so there is nothing to reset; stop it first if it must be reset%n",
                    st.slot(), holder);
          }
          return OutboxkitCli.REFUSED;
        }
        if (problem == Problem.NONE) {
          r.put("done", true);
          if (!options.printJson(r)) {
            options.out().println("relay reset: " + problem.text);
            options.out().flush();
          }
          return OutboxkitCli.OK;
        }
        boolean replay =
            problem == Problem.SLOT_DROPPED
                || problem == Problem.SLOT_LOST
                || problem == Problem.SLOT_ADVANCED;
        OutboxRows.Range range = null;
        long rows = 0;
        if (replay) {
          OffsetDateTime from =
              since != null
                  ? new ReplayCommand.TimeConverter().convert(since)
                  : state.storedAt() == null ? null : state.storedAt().minus(margin);
          if (from == null) {
            options
                .err()
                .println(
                    "outboxkit: the relay never stored an offset time for this slot: give --since"
                        + " (the time from which rows may not have been relayed)");
            return OutboxkitCli.USAGE;
          }
          range = new OutboxRows.Range(null, null, from, null);
          rows = new Replay(s, new Republisher(s, rate)).count(range);
          Map<String, Object> gap = new LinkedHashMap<>();
          gap.put("since", from.toString());
          gap.put("rowsToRepublish", rows);
          gap.put("tables", st.tables().stream().map(TableName::qualified).toList());
          r.put("gap", gap);
        }
        List<String> steps = steps(s, problem, range, rows);
        r.put("steps", steps);
        if (!yes) {
          r.put("done", false);
          if (!options.printJson(r)) {
            print(options.out(), r, steps, false);
          }
          return OutboxkitCli.REFUSED;
        }
        Leadership lock = new Leadership(st, s.db);
        try {
          if (!lock.tryAcquire()) {
            options
                .err()
                .println("outboxkit: a relay took the slot's lock meanwhile: stop it first");
            return OutboxkitCli.REFUSED;
          }
          apply(s, problem);
          if (replay) {
            StateTables.migrate(st);
            long fromSeq = firstSeqAt(s, range.since());
            Replay.Result result;
            try (Progress p = new Progress(options.err(), "replay", rows, !options.json)) {
              result =
                  new Replay(s, new Republisher(s, rate))
                      .run(
                          "relay-reset-" + st.slot() + "-" + range.since().toEpochSecond(),
                          range,
                          true,
                          fromSeq,
                          false,
                          p::step);
            }
            r.put("replay", result.asMap());
          }
        } finally {
          lock.close();
        }
        r.put("done", true);
        if (!options.printJson(r)) {
          print(options.out(), r, steps, true);
        }
        return OutboxkitCli.OK;
      }
    }

    static Problem diagnose(RelayState s) {
      if (!s.slotExists()) {
        return s.recorded() || s.offsetLsn() != null || s.problem() != null
            ? Problem.SLOT_DROPPED
            : Problem.NONE;
      }
      if (s.slotWalLost()) {
        return Problem.SLOT_LOST;
      }
      if (s.problem() != null) {
        return Problem.OFFSETS_CORRUPT;
      }
      if (s.recorded() && s.offsetsStored() && s.offsetLsn() == null) {
        return Problem.OFFSETS_LOST;
      }
      if (s.offsetLsn() != null
          && s.slotConfirmedLsn() != null
          && Long.compareUnsigned(s.slotConfirmedLsn(), s.offsetLsn()) > 0) {
        return Problem.SLOT_ADVANCED;
      }
      return Problem.NONE;
    }

    private static List<String> steps(CliSession s, Problem p, OutboxRows.Range range, long rows) {
      RelaySettings st = s.settings;
      List<String> steps = new ArrayList<>();
      String republish =
          range == null
              ? null
              : "republish "
                  + rows
                  + " outbox rows created since "
                  + range.since()
                  + " (still in the table; ids the stream holds are skipped)";
      steps.add("take the lock of slot " + st.slot() + " (no relay may start meanwhile)");
      switch (p) {
        case SLOT_DROPPED, SLOT_LOST -> {
          if (p == Problem.SLOT_LOST) {
            steps.add("drop replication slot " + st.slot() + ", which cannot stream any more");
          }
          steps.add(
              "create replication slot "
                  + st.slot()
                  + " (pgoutput): the relay streams every event committed after it");
          steps.add("delete the offsets and the slot record of " + st.slot());
          steps.add(republish);
        }
        case SLOT_ADVANCED -> {
          steps.add(
              "delete the stored offsets of " + st.slot() + ": the relay resumes at the slot");
          steps.add(republish);
        }
        case OFFSETS_LOST ->
            steps.add(
                "delete the slot record of "
                    + st.slot()
                    + ": the relay resumes from the slot itself");
        case OFFSETS_CORRUPT ->
            steps.add(
                "delete the stored offsets of "
                    + st.slot()
                    + ": the relay resumes from the slot itself");
        default -> {}
      }
      steps.add("release the lock; then start the relay");
      return steps;
    }

    private static void apply(CliSession s, Problem p) throws SQLException {
      RelaySettings st = s.settings;
      try (Connection c = s.db.connect()) {
        if (p == Problem.SLOT_LOST) {
          try (PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
            ps.setString(1, st.slot());
            ps.executeQuery().close();
          }
        }
        if (p == Problem.SLOT_DROPPED || p == Problem.SLOT_LOST) {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT lsn::text FROM pg_create_logical_replication_slot(?, 'pgoutput')")) {
            ps.setString(1, st.slot());
            ps.executeQuery().close();
          }
        }
        c.setAutoCommit(false);
        if (p != Problem.OFFSETS_LOST) {
          delete(c, st.offsetsTable().qualified(), st.slot());
        }
        if (p == Problem.SLOT_DROPPED || p == Problem.SLOT_LOST || p == Problem.OFFSETS_LOST) {
          delete(c, StateTables.slots(st), st.slot());
        }
        c.commit();
      }
    }

    private static void delete(Connection c, String table, String slot) throws SQLException {
      try (PreparedStatement ps =
          c.prepareStatement("DELETE FROM " + table + " WHERE slot_name = ?")) {
        ps.setString(1, slot);
        ps.executeUpdate();
      }
    }

    /** The sequence of the relay's first message at or after {@code time}; 0 when none. */
    private static long firstSeqAt(CliSession s, OffsetDateTime time) {
      long[] seq = {0};
      s.read(
          ">",
          1,
          time.toZonedDateTime(),
          true,
          m -> {
            seq[0] = m.metaData().streamSequence();
            return false;
          });
      return seq[0];
    }

    private static void print(
        PrintWriter out, Map<String, Object> r, List<String> steps, boolean done) {
      out.printf("slot %s: %s%n", r.get("slot"), r.get("what"));
      @SuppressWarnings("unchecked")
      Map<String, Object> off = (Map<String, Object>) r.get("offsets");
      out.printf(
          "  last stored offset: %s (stored %s)%n",
          off.get("lsn") == null ? "none" : off.get("lsn"), off.get("storedAt"));
      if (r.get("gap") instanceof Map<?, ?> gap) {
        out.printf(
            "  gap: events committed since about %s; %s rows of %s are still in the outbox table"
                + " for it%n",
            gap.get("since"), gap.get("rowsToRepublish"), gap.get("tables"));
      }
      out.println(done ? "Done:" : "Would:");
      for (int i = 0; i < steps.size(); i++) {
        out.printf("  %d. %s%n", i + 1, steps.get(i));
      }
      if (r.get("replay") instanceof Map<?, ?> rp) {
        out.printf(
            "  republished %s, already in the stream %s, dead-lettered %s%n",
            rp.get("published"), rp.get("skipped"), rp.get("deadLettered"));
      }
      if (!done) {
        out.println("Run again with --yes to do it.");
      }
      out.flush();
    }
  }
}
