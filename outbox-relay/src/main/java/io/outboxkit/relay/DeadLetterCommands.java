package io.outboxkit.relay;

import io.nats.client.JetStreamApiException;
import io.nats.client.PurgeOptions;
import io.nats.client.api.MessageInfo;
import io.nats.client.api.PurgeResponse;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code outboxkit dlq list | show | redrive | purge}: the relay's and consumers' dead letters. */
@Command(
    name = "dlq",
    mixinStandardHelpOptions = true,
    description = {
      "List, show, redrive or purge dead letters.",
      "Dead letters in the relay's stream: the relay's (rows it could not publish) and the"
          + " consumers' (events a handler gave up on). A dead letter is named by its stream"
          + " sequence (see list)."
    },
    subcommands = {
      DeadLetterCommands.ListCommand.class,
      DeadLetterCommands.Show.class,
      DeadLetterCommands.RedriveCommand.class,
      DeadLetterCommands.Purge.class
    })
final class DeadLetterCommands implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /**
   * Where dead letters are: every subject under the first token of the relay's dead-letter subject
   * ({@code outbox-dlq.relay} → {@code outbox-dlq.>}), where consumers' go by default too.
   */
  static String defaultFilter(CliSession s) {
    String dlq = s.settings.deadLetterSubject();
    int dot = dlq.indexOf('.');
    return dot < 0 ? dlq : dlq.substring(0, dot) + ".>";
  }

  /** Dead letters on {@code filter}, oldest first, at most {@code limit}. */
  static List<DeadLetter> read(CliSession s, String filter, int limit) {
    List<DeadLetter> out = new ArrayList<>();
    s.read(
        filter,
        1,
        null,
        false,
        m -> {
          DeadLetter d = DeadLetter.of(m);
          if (d.isDeadLetter()) {
            out.add(d);
          }
          return out.size() < limit;
        });
    return out;
  }

  /** The dead letter at {@code seq}, or null. */
  static DeadLetter at(CliSession s, long seq) throws java.io.IOException, JetStreamApiException {
    MessageInfo mi;
    try {
      mi = s.jsm().getMessage(s.stream(), seq);
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == 10037) {
        return null;
      }
      throw e;
    }
    DeadLetter d = mi == null ? null : DeadLetter.of(mi);
    return d != null && d.isDeadLetter() ? d : null;
  }

  /** Which dead letters: sequences, or {@code --all} on {@code --subject}. */
  static final class Selection {
    @Parameters(paramLabel = "SEQ", arity = "0..*", description = "Stream sequences.")
    List<Long> seqs = new ArrayList<>();

    @Option(names = "--all", description = "Every dead letter on --subject.")
    boolean all;

    @Option(
        names = "--subject",
        description = "With --all: the subjects (default: all dead-letter subjects).",
        paramLabel = "FILTER")
    String subject;

    boolean valid(CliOptions options) {
      if (seqs.isEmpty() == !all) {
        options.err().println("outboxkit: name dead letters by sequence, or give --all");
        return false;
      }
      return true;
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "Lists dead letters, oldest first: sequence, who, id, kind, reason.")
  static final class ListCommand implements Callable<Integer> {
    @Mixin CliOptions options;

    @Option(
        names = "--subject",
        description = "Subjects to read (default: all under the relay's dead-letter prefix).",
        paramLabel = "FILTER")
    String subject;

    @Option(names = "--limit", defaultValue = "100", description = "At most this many (100).")
    int limit;

    @Override
    public Integer call() {
      try (CliSession s = new CliSession(options.settings())) {
        String filter = subject != null ? subject : defaultFilter(s);
        List<Map<String, Object>> rows =
            read(s, filter, limit).stream().map(DeadLetter::summary).toList();
        if (!options.printJson(rows)) {
          PrintWriter out = options.out();
          out.printf("%d dead letters on %s%n", rows.size(), filter);
          for (Map<String, Object> r : rows) {
            String reason = String.valueOf(r.get("reason"));
            out.printf(
                "%8s  %-10s %-36s %-18s %s  %s%n",
                r.get("seq"),
                r.get("deadLetteredBy"),
                r.get("id"),
                r.get("kind"),
                r.get("originalSubject"),
                reason.length() > 100 ? reason.substring(0, 100) + "…" : reason);
          }
          out.flush();
        }
        return OutboxkitCli.OK;
      }
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Shows one dead letter: every header (decoded) and the payload.")
  static final class Show implements Callable<Integer> {
    @Mixin CliOptions options;

    @Parameters(paramLabel = "SEQ", description = "Its stream sequence (from dlq list).")
    long seq;

    @Override
    public Integer call() throws Exception {
      try (CliSession s = new CliSession(options.settings())) {
        DeadLetter d = at(s, seq);
        if (d == null) {
          options.err().printf("outboxkit: no dead letter at sequence %d of %s%n", seq, s.stream());
          return OutboxkitCli.NOT_FOUND;
        }
        Map<String, Object> detail = d.detail();
        if (!options.printJson(detail)) {
          PrintWriter out = options.out();
          detail.forEach(
              (k, v) -> {
                if (v instanceof Map<?, ?> h) {
                  out.println("headers:");
                  h.forEach((n, hv) -> out.printf("  %s: %s%n", n, hv));
                } else {
                  out.printf("%s: %s%n", k, v);
                }
              });
          out.flush();
        }
        return OutboxkitCli.OK;
      }
    }
  }

  @Command(
      name = "redrive",
      mixinStandardHelpOptions = true,
      description = {
        "Publishes dead letters back to their original subject with their original id, once,"
            + " then deletes them. A relay dead letter is made again from its row (fix the row"
            + " first), or from the payload it holds when the row is gone; a consumer's is its"
            + " stored copy. Redriving the same dead letter again does nothing."
      })
  static final class RedriveCommand implements Callable<Integer> {
    @Mixin CliOptions options;

    @Mixin Selection which;

    @Option(
        names = "--rate",
        defaultValue = "0",
        description = "At most this many per second (default: no limit).")
    double rate;

    @Override
    public Integer call() throws Exception {
      if (!which.valid(options)) {
        return OutboxkitCli.USAGE;
      }
      try (CliSession s = new CliSession(options.settings())) {
        StateTables.migrate(s.settings);
        List<DeadLetter> letters = new ArrayList<>();
        int missing = 0;
        if (which.all) {
          letters.addAll(
              read(s, which.subject != null ? which.subject : defaultFilter(s), Integer.MAX_VALUE));
        } else {
          for (long seq : which.seqs) {
            DeadLetter d = at(s, seq);
            if (d == null) {
              missing++;
              letters.add(null);
            } else {
              letters.add(d);
            }
          }
        }
        Redrive redrive = new Redrive(s, new Republisher(s, rate));
        List<Map<String, Object>> results = new ArrayList<>();
        int failed = 0;
        try (Progress p = new Progress(options.err(), "redrive", letters.size(), !options.json)) {
          for (int i = 0; i < letters.size(); i++) {
            DeadLetter d = letters.get(i);
            Map<String, Object> r;
            if (d == null) {
              r = new LinkedHashMap<>();
              r.put("seq", which.seqs.get(i));
              r.put("outcome", "not_found");
              r.put("detail", "no dead letter at this sequence (already redriven or purged?)");
            } else {
              r = redrive.one(d).asMap();
              if (r.get("outcome").equals("failed")) {
                failed++;
              }
            }
            results.add(r);
            p.step(i + 1);
          }
        }
        if (!options.printJson(results)) {
          PrintWriter out = options.out();
          for (Map<String, Object> r : results) {
            out.printf(
                "%8s  %-16s %s%s%n",
                r.get("seq"),
                r.get("outcome"),
                r.get("id") == null ? "" : r.get("id") + " → " + r.get("subject") + ": ",
                r.get("detail"));
          }
          out.flush();
        }
        return failed > 0
            ? OutboxkitCli.FAILED
            : missing > 0 ? OutboxkitCli.NOT_FOUND : OutboxkitCli.OK;
      }
    }
  }

  @Command(
      name = "purge",
      mixinStandardHelpOptions = true,
      description =
          "Deletes dead letters for good: by sequence, or --all on --subject. Needs --yes.")
  static final class Purge implements Callable<Integer> {
    @Mixin CliOptions options;

    @Mixin Selection which;

    @Option(names = "--yes", description = "Do it (without: say what would be deleted).")
    boolean yes;

    @Override
    public Integer call() throws Exception {
      if (!which.valid(options)) {
        return OutboxkitCli.USAGE;
      }
      try (CliSession s = new CliSession(options.settings())) {
        Map<String, Object> result = new LinkedHashMap<>();
        if (which.all) {
          String filter = which.subject != null ? which.subject : defaultFilter(s);
          long n =
              StatusCommand.deadLetterCounts(s, filter).values().stream()
                  .mapToLong(Long::longValue)
                  .sum();
          result.put("subject", filter);
          result.put("messages", n);
          if (yes) {
            PurgeResponse pr = s.jsm().purgeStream(s.stream(), PurgeOptions.subject(filter));
            result.put("purged", pr.getPurged());
          }
        } else {
          List<Long> found = new ArrayList<>();
          List<Long> notFound = new ArrayList<>();
          for (long seq : which.seqs) {
            (at(s, seq) != null ? found : notFound).add(seq);
          }
          result.put("deadLetters", found);
          result.put("notFound", notFound);
          if (yes) {
            long purged = 0;
            for (long seq : found) {
              if (s.jsm().deleteMessage(s.stream(), seq)) {
                purged++;
              }
            }
            result.put("purged", purged);
          }
        }
        if (!options.printJson(result)) {
          options
              .out()
              .println(
                  yes
                      ? "purged " + result.get("purged") + " dead letters " + describe(result)
                      : "would purge " + describe(result) + ": run again with --yes");
          options.out().flush();
        }
        if (!yes) {
          return OutboxkitCli.REFUSED;
        }
        return result.get("notFound") instanceof List<?> l && !l.isEmpty()
            ? OutboxkitCli.NOT_FOUND
            : OutboxkitCli.OK;
      }
    }

    private static String describe(Map<String, Object> r) {
      return r.containsKey("subject")
          ? r.get("messages") + " messages on " + r.get("subject")
          : "sequences "
              + r.get("deadLetters")
              + (((List<?>) r.get("notFound")).isEmpty()
                  ? ""
                  : " (not dead letters: " + r.get("notFound") + ")");
    }
  }
}
