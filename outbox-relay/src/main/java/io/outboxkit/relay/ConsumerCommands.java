package io.outboxkit.relay;

import io.nats.client.JetStreamApiException;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.DeliverPolicy;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code outboxkit consumer reset | rebuild}: move a durable consumer in the stream. */
@Command(
    name = "consumer",
    mixinStandardHelpOptions = true,
    description = "Reset or rebuild a durable consumer (move it to the start, a sequence, a time).",
    subcommands = {ConsumerCommands.Reset.class, ConsumerCommands.Rebuild.class})
final class ConsumerCommands implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Where the consumer starts again. */
  static final class Target {
    @Option(names = "--to-start", description = "The stream's first message.")
    boolean start;

    @Option(names = "--to-seq", description = "This stream sequence.", paramLabel = "SEQ")
    Long seq;

    @Option(
        names = "--to-time",
        description = "The first message at or after: an ISO time or an age (2h).",
        paramLabel = "TIME")
    String time;

    @Option(names = "--to-new", description = "Only messages stored from now on.")
    boolean now;
  }

  @Command(
      name = "reset",
      mixinStandardHelpOptions = true,
      description = {
        "Moves a durable consumer to the start, a sequence or a time: deletes it and creates it"
            + " again with the same configuration and a new deliver policy. Stop its instances"
            + " first. Events it applied before stay applied: its inbox skips them unless you"
            + " clear the inbox rows of this consumer (see rebuild)."
      })
  static final class Reset implements Callable<Integer> {
    @Mixin CliOptions options;

    @Parameters(paramLabel = "NAME", description = "The durable consumer.")
    String name;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    @Option(names = "--yes", description = "Do it (without: say what it would do).")
    boolean yes;

    @Override
    public Integer call() throws Exception {
      return reset(options, name, target, yes);
    }
  }

  @Command(
      name = "rebuild",
      mixinStandardHelpOptions = true,
      description = {
        "Moves a durable consumer to the stream's start, for a read model rebuilt from the events:"
            + " clear the read model and the consumer's inbox rows (DELETE FROM outbox_inbox WHERE"
            + " consumer = 'NAME') before its instances start again."
      })
  static final class Rebuild implements Callable<Integer> {
    @Mixin CliOptions options;

    @Parameters(paramLabel = "NAME", description = "The durable consumer.")
    String name;

    @Option(names = "--yes", description = "Do it (without: say what it would do).")
    boolean yes;

    @Override
    public Integer call() throws Exception {
      Target t = new Target();
      t.start = true;
      return reset(options, name, t, yes);
    }
  }

  static int reset(CliOptions options, String name, Target target, boolean yes) throws Exception {
    try (CliSession s = new CliSession(options.settings())) {
      ConsumerInfo ci;
      try {
        ci = s.jsm().getConsumerInfo(s.stream(), name);
      } catch (JetStreamApiException e) {
        if (e.getApiErrorCode() == 10014) {
          options.err().printf("outboxkit: stream %s has no consumer %s%n", s.stream(), name);
          return OutboxkitCli.NOT_FOUND;
        }
        throw e;
      }
      ConsumerConfiguration old = ci.getConsumerConfiguration();
      ConsumerConfiguration.Builder b =
          ConsumerConfiguration.builder(old).startSequence(0).startTime(null);
      String where;
      if (target.start) {
        b.deliverPolicy(DeliverPolicy.All);
        where = "the stream's first message";
      } else if (target.seq != null) {
        b.deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(target.seq);
        where = "sequence " + target.seq;
      } else if (target.time != null) {
        OffsetDateTime t = new ReplayCommand.TimeConverter().convert(target.time);
        b.deliverPolicy(DeliverPolicy.ByStartTime).startTime(t.toZonedDateTime());
        where = "the first message at or after " + t;
      } else {
        b.deliverPolicy(DeliverPolicy.New);
        where = "messages stored from now on";
      }
      ConsumerConfiguration next = b.build();
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("consumer", name);
      r.put("stream", s.stream());
      r.put("pendingBefore", ci.getNumPending());
      r.put("ackPendingBefore", ci.getNumAckPending());
      r.put("deliverPolicy", next.getDeliverPolicy().toString());
      r.put("startsAt", where);
      boolean running = ci.getNumWaiting() > 0 || ci.isPushBound();
      r.put("instancesRunning", running);
      if (running) {
        r.put("done", false);
        if (!options.printJson(r)) {
          options
              .err()
              .printf(
                  "outboxkit: consumer %s has instances running (%d pull requests waiting): stop"
                      + " them first, then reset%n",
                  name, ci.getNumWaiting());
        }
        return OutboxkitCli.REFUSED;
      }
      if (yes) {
        s.jsm().deleteConsumer(s.stream(), name);
        ConsumerInfo created = s.jsm().addOrUpdateConsumer(s.stream(), next);
        r.put("pendingAfter", created.getNumPending());
      }
      r.put("done", yes);
      if (!options.printJson(r)) {
        options
            .out()
            .printf(
                "%s consumer %s on stream %s (now %d pending, %d unacknowledged) and create it"
                    + " again with the same configuration, starting at %s%s%n",
                yes ? "Deleted" : "Would delete",
                name,
                s.stream(),
                ci.getNumPending(),
                ci.getNumAckPending(),
                where,
                yes ? ": " + r.get("pendingAfter") + " pending" : ". Run again with --yes.");
        options.out().flush();
      }
      return yes ? OutboxkitCli.OK : OutboxkitCli.REFUSED;
    }
  }
}
