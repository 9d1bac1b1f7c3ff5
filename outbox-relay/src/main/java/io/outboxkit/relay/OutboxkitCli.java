package io.outboxkit.relay;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code outboxkit} command line: status, replays, dead letters, consumer and relay resets. It
 * reads the relay's settings (the same {@code OUTBOXKIT_RELAY_*} environment variables, options
 * override them) and uses the relay's own rules: one conversion of a row into a message, one
 * subject rule, one dead-letter format. Run it with {@code outbox-relay/bin/outboxkit}.
 *
 * <pre>{@code
 * OUTBOXKIT_RELAY_DATABASE_NAME=meter outbox-relay/bin/outboxkit status
 * }</pre>
 *
 * <p>Exit codes: 0 done; 1 failed (a server unreachable, a dead letter that still cannot be
 * published); 2 a wrong option or setting; 3 refused: it needs {@code --yes}, or a relay is running
 * where it must not; 4 not found.
 */
@Command(
    name = "outboxkit",
    mixinStandardHelpOptions = true,
    versionProvider = OutboxkitCli.Version.class,
    description = "Operate an outboxkit relay deployment: status, replay, dead letters, resets.",
    subcommands = {
      StatusCommand.class,
      ReplayCommand.class,
      DeadLetterCommands.class,
      ConsumerCommands.class,
      RelayCommands.class,
      CommandLine.HelpCommand.class
    },
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:done",
      "1:failed (a server unreachable, a dead letter that still cannot be published)",
      "2:a wrong option or setting",
      "3:refused: it needs --yes, or a relay is running",
      "4:not found"
    },
    footerHeading = "%n",
    footer =
        "Settings come from the relay's OUTBOXKIT_RELAY_* environment variables; options override"
            + " them. See the README, 'The outboxkit CLI'.")
public final class OutboxkitCli implements Runnable {
  static final int OK = 0;
  static final int FAILED = 1;
  static final int USAGE = 2;
  static final int REFUSED = 3;
  static final int NOT_FOUND = 4;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Runs the command line and exits with its status. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line; returns the exit status. */
  static int run(String... args) {
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "outboxkit-cli-logback.xml");
    }
    CommandLine cli = new CommandLine(new OutboxkitCli());
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExecutionExceptionHandler(
        (e, line, parsed) -> {
          for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RelayException r) {
              line.getErr().println("outboxkit: " + r.getMessage());
              return r.getMessage().startsWith("setting ") ? USAGE : FAILED;
            }
          }
          line.getErr().println("outboxkit: " + io.outboxkit.OutboxException.describe(e));
          return FAILED;
        });
    return cli.execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The jar's version. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = OutboxkitCli.class.getPackage().getImplementationVersion();
      return new String[] {"outboxkit " + (v == null ? "(development build)" : v)};
    }
  }
}
