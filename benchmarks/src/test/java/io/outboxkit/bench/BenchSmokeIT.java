package io.outboxkit.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.outboxkit.testing.TestInfra;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness in {@code --smoke} mode against the test fixture's PostgreSQL and NATS, so that it
 * cannot rot: it must complete and produce a table with every expected row. No figure is checked
 * (timings on a shared CI machine mean nothing).
 */
class BenchSmokeIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  @Test
  void smokeRunFillsEveryRow(@TempDir Path results) throws Exception {
    Path repo = Path.of("..").toAbsolutePath().normalize();
    List<String> args =
        List.of(
            "--smoke",
            "--profile",
            "--repo",
            repo.toString(),
            "--pg-host",
            infra.pgHost(),
            "--pg-port",
            Integer.toString(infra.pgPort()),
            "--pg-user",
            infra.pgUser(),
            "--pg-password",
            infra.pgPassword(),
            "--database",
            infra.database(),
            "--nats",
            infra.natsUrl(),
            "--results",
            results.toString());
    BenchConfig cfg = BenchArgs.parse(args.toArray(String[]::new));
    assertThat(cfg.relayJar())
        .as("the relay jar (built by the reactor before this module)")
        .isRegularFile();
    assertThat(cfg.modes())
        .as("this repository's relay relays WAL messages: both modes by default")
        .containsExactly(BenchConfig.Mode.TABLE, BenchConfig.Mode.MESSAGE);
    Cleanup cleanup = new Cleanup();
    Bench.Outcome outcome;
    try {
      outcome = new Bench(cfg, cleanup, args).run();
    } finally {
      cleanup.runAll();
    }

    List<String> missing = new ArrayList<>();
    for (Rows.Row row : outcome.results().rows()) {
      List<Side> sides = row.raw() ? List.of(Side.RAW) : cfg.outboxkitSides();
      for (Side side : sides) {
        if (outcome.results().stat(row, side) == null) {
          missing.add(row.id() + " " + side.label + " " + outcome.results().errors(row.id(), side));
        }
      }
    }
    assertThat(missing).as("rows without a figure").isEmpty();
    assertThat(outcome.results().rows())
        .extracting(Rows.Row::id)
        .contains(
            "raw.pg_single",
            "raw.pg_batch",
            "raw.js",
            "raw.pg_single_msg",
            "raw.pg_batch_msg",
            "batched.rate",
            "drain.rate",
            "single.relayed",
            "single.lag_p99",
            "lat1000.ack_p99",
            "lat5000.applied_max",
            "rss.peak_mb",
            "start.ready_ms");

    // --profile: a JFR recording of each mode's batched run, read back (no sample count checked:
    // 3,000 events take well under a second).
    assertThat(outcome.results().profiles())
        .extracting(p -> p.side(), p -> p.error())
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple(Side.OUTBOXKIT, null),
            org.assertj.core.groups.Tuple.tuple(Side.OUTBOXKIT_MESSAGES, null));

    // The relay's commit → stage percentiles through the 8-writer and paced runs, per mode, in
    // pipeline order (figures not checked: a smoke run is too short to mean anything).
    assertThat(outcome.results().stages())
        .extracting(s -> s.side() + " " + s.workload())
        .contains("OUTBOXKIT single", "OUTBOXKIT lat1000", "OUTBOXKIT_MESSAGES single");
    assertThat(outcome.results().stages())
        .allSatisfy(
            s ->
                assertThat(s.figures().keySet()).containsExactlyElementsOf(StageHistograms.STAGES));
    assertThat(outcome.report().stagesText()).contains("| dequeued |");

    assertThat(outcome.files()).hasSize(2).allSatisfy(f -> assertThat(f).isRegularFile());
    JsonNode json = new ObjectMapper().readTree(outcome.files().get(0).toFile());
    assertThat(json.get("rows")).hasSize(outcome.results().rows().size());
    String md = Files.readString(outcome.files().get(1));
    for (Rows.Row row : outcome.results().rows()) {
      assertThat(md).contains(row.label());
    }
    assertThat(outcome.report().text())
        .contains("outboxkit table", "outboxkit messages", "raw limit messages");
  }
}
