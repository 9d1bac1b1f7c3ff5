package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The CLI's parts that need no servers: help, settings, the reset diagnosis, times and ranges. */
class OutboxkitCliTest {

  @Test
  void everyCommandAnswersHelpAndLeafCommandsTakeJson() {
    List<CommandLine> all = new ArrayList<>();
    collect(new CommandLine(new OutboxkitCli()), all);
    assertThat(all)
        .extracting(CommandLine::getCommandName)
        .contains(
            "status",
            "replay",
            "dlq",
            "list",
            "show",
            "redrive",
            "purge",
            "consumer",
            "reset",
            "rebuild",
            "relay");
    for (CommandLine c : all) {
      if (c.getCommandName().equals("help")) {
        continue;
      }
      List<String> path = new ArrayList<>();
      for (CommandLine p = c; p.getParent() != null; p = p.getParent()) {
        path.add(0, p.getCommandName());
      }
      path.add("--help");
      StringWriter out = new StringWriter();
      CommandLine root = new CommandLine(new OutboxkitCli());
      root.setOut(new PrintWriter(out));
      int exit = root.execute(path.toArray(String[]::new));
      assertThat(exit).as(String.join(" ", path)).isZero();
      assertThat(out.toString()).as(String.join(" ", path)).contains("Usage: outboxkit");
      if (c.getSubcommands().isEmpty()) {
        assertThat(out.toString()).as(String.join(" ", path)).contains("--json", "--set");
      }
    }
  }

  private static void collect(CommandLine c, List<CommandLine> all) {
    all.add(c);
    c.getSubcommands().values().stream().distinct().forEach(s -> collect(s, all));
  }

  @Test
  void aWrongOptionIsExitStatusTwo() {
    CommandLine root = new CommandLine(new OutboxkitCli());
    root.setErr(new PrintWriter(new StringWriter()));
    assertThat(root.execute("dlq", "show", "not-a-number")).isEqualTo(OutboxkitCli.USAGE);
  }

  @Test
  void settingsHaveTheRelaysDefaultsAndOptionsOverrideThem() {
    RelayConfig d = SettingsBinder.bind(Map.of());
    assertThat(d.slotName()).isEqualTo("outboxkit");
    assertThat(d.offsetsTable()).isEqualTo("outboxkit.relay_offsets");
    assertThat(d.deadLetterSubject()).isEqualTo("outbox-dlq.relay");
    assertThat(d.tables()).containsExactly("public.outbox");
    assertThat(d.database().port()).isEqualTo(5432);
    assertThat(d.database().name()).isNull();
    assertThat(d.nats().servers()).containsExactly("nats://127.0.0.1:4222");
    assertThat(d.stream().duplicateWindow()).isEqualTo(Duration.ofMinutes(2));
    assertThat(d.publish().maxInFlight()).isEqualTo(4000);
    assertThat(d.createPublication()).isTrue();

    RelayConfig o =
        SettingsBinder.bind(
            Map.of(
                "outboxkit.relay.slot-name", "mine",
                "outboxkit.relay.database.name", "meter",
                "outboxkit.relay.nats.servers", "nats://a:4222,nats://b:4222",
                "outboxkit.relay.stream.duplicate-window", "5s"));
    assertThat(o.slotName()).isEqualTo("mine");
    assertThat(o.database().name()).isEqualTo("meter");
    assertThat(o.nats().servers()).containsExactly("nats://a:4222", "nats://b:4222");
    assertThat(o.stream().duplicateWindow()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void relayResetDiagnosis() {
    long lsn = 0x1000;
    assertThat(diagnose(lsn, null, true, true, true, lsn)).isEqualTo(RelayCommands.Problem.NONE);
    assertThat(diagnose(null, null, false, false, false, null))
        .isEqualTo(RelayCommands.Problem.NONE); // never ran
    assertThat(diagnose(lsn, null, true, true, false, null))
        .isEqualTo(RelayCommands.Problem.SLOT_DROPPED);
    assertThat(diagnose(null, "corrupt offsets", true, true, false, null))
        .isEqualTo(RelayCommands.Problem.SLOT_DROPPED);
    assertThat(diagnose(null, null, true, true, true, lsn))
        .isEqualTo(RelayCommands.Problem.OFFSETS_LOST);
    assertThat(diagnose(null, "corrupt offsets", true, true, true, lsn))
        .isEqualTo(RelayCommands.Problem.OFFSETS_CORRUPT);
    assertThat(diagnose(lsn, null, true, true, true, lsn + 1))
        .isEqualTo(RelayCommands.Problem.SLOT_ADVANCED);
    assertThat(diagnose(null, null, true, false, true, lsn)).isEqualTo(RelayCommands.Problem.NONE);
    assertThat(
            RelayCommands.Reset.diagnose(
                new RelayState(lsn, null, null, true, true, true, lsn, true)))
        .isEqualTo(RelayCommands.Problem.SLOT_LOST);
  }

  private static RelayCommands.Problem diagnose(
      Long offset, String problem, boolean recorded, boolean stored, boolean slot, Long confirmed) {
    return RelayCommands.Reset.diagnose(
        new RelayState(offset, null, problem, recorded, stored, slot, confirmed, false));
  }

  @Test
  void timesAreIsoOrAges() {
    ReplayCommand.TimeConverter t = new ReplayCommand.TimeConverter();
    assertThat(t.convert("2026-12-01T10:00:00Z"))
        .isEqualTo(OffsetDateTime.of(2026, 12, 1, 10, 0, 0, 0, ZoneOffset.UTC));
    assertThat(t.convert("2026-12-01T11:00:00+01:00").toInstant())
        .isEqualTo(OffsetDateTime.of(2026, 12, 1, 10, 0, 0, 0, ZoneOffset.UTC).toInstant());
    OffsetDateTime twoHours = t.convert("2h");
    assertThat(Duration.between(twoHours, OffsetDateTime.now()).toMinutes()).isBetween(119L, 121L);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> t.convert("yesterday"))
        .hasMessageContaining("neither an ISO time");
  }

  @Test
  void aRangeReadsBackAsItWasWritten() {
    OutboxRows.Range r =
        new OutboxRows.Range(
            UUID.fromString("01900000-0000-7000-8000-000000000001"),
            null,
            OffsetDateTime.of(2026, 12, 1, 10, 0, 0, 123_456_000, ZoneOffset.UTC),
            null);
    assertThat(OutboxRows.Range.parse(r.toString())).isEqualTo(r);
    assertThat(OutboxRows.Range.parse(OutboxRows.Range.ALL.toString()))
        .isEqualTo(OutboxRows.Range.ALL);
  }
}
