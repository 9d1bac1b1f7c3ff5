package io.outboxkit.sample.meter;

import static org.assertj.core.api.Assertions.assertThat;

import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.outboxkit.testing.TestInfra;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The simulator against a real meter service: everything it sends is recorded exactly once. */
class SimulatorIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static EmbeddedServer server;

  @BeforeAll
  static void start() {
    server = ApplicationContext.run(EmbeddedServer.class, MeterApiIT.appProperties(infra));
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  long count(String sql) {
    return infra.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
  }

  @Test
  void aRunRecordsWhatItSendsAndARepeatedRunOnlyDuplicates() throws Exception {
    String[] args = {
      "--url",
      "http://127.0.0.1:" + server.getPort(),
      "--meters",
      "12",
      "--rate",
      "400",
      "--duration",
      "2s",
      "--batch",
      "10",
      "--start",
      "2025-01-15T00:15:00Z"
    };
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Simulator.Result first =
        new Simulator(
                Simulator.Settings.parse(args), new PrintStream(out, true, StandardCharsets.UTF_8))
            .run();

    assertThat(first.rejected()).isZero();
    assertThat(first.failed()).isZero();
    assertThat(first.sent()).isPositive();
    assertThat(first.recorded() + first.duplicates()).isEqualTo(first.sent());
    assertThat(count("SELECT count(*) FROM meter")).isEqualTo(12);
    assertThat(count("SELECT count(*) FROM reading")).isEqualTo(first.recorded());
    assertThat(count("SELECT count(*) FROM outbox WHERE event_type = 'ReadingRecorded'"))
        .isEqualTo(first.recorded());
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("recorded=" + first.recorded());

    // Same seed and start: the same readings again, all duplicates, no new events.
    Simulator.Result again =
        new Simulator(
                Simulator.Settings.parse(args), new PrintStream(out, true, StandardCharsets.UTF_8))
            .run();
    assertThat(again.rejected()).isZero();
    assertThat(count("SELECT count(*) FROM outbox WHERE event_type = 'ReadingRecorded'"))
        .isEqualTo(first.recorded() + again.recorded());
    assertThat(count("SELECT count(*) FROM reading"))
        .isEqualTo(first.recorded() + again.recorded());
  }
}
