package io.outboxkit.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.OutboxEnvelope;
import io.outboxkit.bench.BenchConfig.Mode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import jdk.jfr.Recording;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Message mode in the harness (options, rows, report) and the profile's aggregation. */
class ModesAndProfileTest {

  @Test
  void modesDefaultToBothWhenTheRelayCanRelayMessagesElseTable(@TempDir Path dir)
      throws IOException {
    Path withEnvelope = jar(dir.resolve("new.jar"), RelayJar.ENVELOPE_CLASS);
    Path without = jar(dir.resolve("old.jar"), "io/outboxkit/relay/Main.class");
    assertThat(BenchArgs.parse("--relay-jar", withEnvelope.toString()).modes())
        .containsExactly(Mode.TABLE, Mode.MESSAGE);
    assertThat(BenchArgs.parse("--relay-jar", without.toString()).modes())
        .containsExactly(Mode.TABLE);
    assertThat(
            BenchArgs.parse("--relay-jar", withEnvelope.toString(), "--modes", "message,table")
                .modes())
        .containsExactly(Mode.MESSAGE, Mode.TABLE);
    assertThatThrownBy(
            () -> BenchArgs.parse("--relay-jar", without.toString(), "--modes", "table,message"))
        .hasMessageContaining("cannot relay WAL messages")
        .hasMessageContaining("--modes table");
    assertThatThrownBy(() -> BenchArgs.parse("--modes", "rows"))
        .hasMessageContaining("unknown mode 'rows'");
    assertThatThrownBy(() -> BenchArgs.parse("--message-events", "0"))
        .hasMessageContaining("--message-events");
    assertThat(BenchArgs.parse("--profile").profile()).isTrue();
  }

  private static Path jar(Path file, String entry) throws IOException {
    try (OutputStream out = Files.newOutputStream(file);
        ZipOutputStream zip = new ZipOutputStream(out)) {
      zip.putNextEntry(new ZipEntry(entry));
      zip.write(new byte[] {1, 2, 3});
      zip.closeEntry();
    }
    return file;
  }

  @Test
  void messageModeIsComparedWithTheRawLimitsOfMessages() {
    BenchConfig cfg =
        BenchArgs.parse("--with-peer", "--modes", "table,message", "--relay-jar", "/none.jar");
    Results r = new Results(Rows.of(cfg));
    assertThat(r.rows()).extracting(Rows.Row::id).contains("raw.pg_single_msg", "raw.pg_batch_msg");
    r.put(1, "raw.pg_single", Side.RAW, 10_000);
    r.put(1, "raw.pg_single_msg", Side.RAW, 16_000);
    r.put(1, "raw.pg_batch", Side.RAW, 200_000);
    r.put(1, "raw.pg_batch_msg", Side.RAW, 400_000);
    r.put(1, "raw.js", Side.RAW, 100_000);
    r.put(1, "single.offered", Side.OUTBOXKIT, 5_000);
    r.put(1, "single.offered", Side.OUTBOXKIT_MESSAGES, 8_000);
    r.put(1, "single.offered", Side.PEER, 4_000);
    r.put(1, "batched.rate", Side.OUTBOXKIT, 20_000);
    r.put(1, "batched.rate", Side.OUTBOXKIT_MESSAGES, 60_000);
    r.put(1, "batched.rate", Side.PEER, 15_000);

    Rows.Row single = row(r, "single.offered");
    assertThat(r.rawLimit(single, Side.OUTBOXKIT)).isEqualTo(10_000);
    assertThat(r.rawLimit(single, Side.OUTBOXKIT_MESSAGES)).isEqualTo(16_000);
    // batched is bounded by the lower of PostgreSQL and JetStream in both modes
    assertThat(r.rawLimit(row(r, "batched.rate"), Side.OUTBOXKIT_MESSAGES)).isEqualTo(100_000);

    Report report = new Report(r, true, cfg.outboxkitSides(), Map.of());
    assertThat(report.columns())
        .containsExactly(
            "row",
            "unit",
            "outboxkit table",
            "outboxkit messages",
            "peer",
            "table ÷ peer",
            "messages ÷ peer",
            "ahead",
            "raw limit table",
            "table ÷ raw",
            "raw limit messages",
            "messages ÷ raw",
            "notes");
    List<String> cells = line(report, "single.offered");
    assertThat(cells.subList(2, 12))
        .containsExactly(
            "5,000",
            "8,000",
            "4,000",
            "1.25×",
            "2.00×",
            "messages",
            "10,000",
            "0.50×",
            "16,000",
            "0.50×");
    List<String> rawMsg = line(report, "raw.pg_single_msg");
    assertThat(rawMsg.get(8)).isEmpty();
    assertThat(rawMsg.get(10)).isEqualTo("16,000");

    Map<String, Object> json = report.json();
    @SuppressWarnings("unchecked")
    Map<String, Object> batched =
        ((List<Map<String, Object>>) json.get("rows"))
            .stream().filter(m -> m.get("id").equals("batched.rate")).findFirst().orElseThrow();
    assertThat(batched.get("ratio_outboxkit_peer")).isEqualTo(20_000.0 / 15_000);
    assertThat(batched.get("ratio_outboxkit_messages_peer")).isEqualTo(4.0);
    assertThat(batched.get("ratio_outboxkit_messages_raw")).isEqualTo(0.6);
  }

  @Test
  void aheadNamesTheBestOfThreeOrEven() {
    BenchConfig cfg = BenchArgs.parse("--with-peer", "--modes", "table,message");
    Report report = new Report(new Results(Rows.of(cfg)), true, cfg.outboxkitSides(), Map.of());
    Rows.Row latency = new Rows.Row("x", "x", "ms", false, false, List.of(), true, null);
    Map<Side, Double> m = new LinkedHashMap<>();
    m.put(Side.OUTBOXKIT, 10.0);
    m.put(Side.OUTBOXKIT_MESSAGES, 9.0);
    m.put(Side.PEER, 20.0);
    assertThat(report.ahead(latency, m)).isEqualTo("messages");
    m.put(Side.OUTBOXKIT_MESSAGES, 10.1);
    assertThat(report.ahead(latency, m)).isEqualTo("even");
    m.put(Side.PEER, 5.0);
    assertThat(report.ahead(latency, m)).isEqualTo("peer");
    m.put(Side.OUTBOXKIT, Double.NaN);
    m.put(Side.PEER, Double.NaN);
    assertThat(report.ahead(latency, m)).isEmpty();
  }

  @Test
  void tableModeAloneKeepsThePublishedHeadings() {
    BenchConfig cfg = BenchArgs.parse("--with-peer", "--modes", "table");
    Report report = new Report(new Results(Rows.of(cfg)), true, cfg.outboxkitSides(), Map.of());
    assertThat(report.columns())
        .containsExactly(
            "row",
            "unit",
            "outboxkit",
            "peer",
            "okit ÷ peer",
            "ahead",
            "raw limit",
            "okit ÷ raw",
            "notes");
    assertThat(Rows.of(cfg)).extracting(Rows.Row::id).doesNotContain("raw.pg_single_msg");
  }

  @Test
  void theEnvelopeIsOutboxCoresWithTheRowsEvent() {
    String note = EventWriter.note(200);
    byte[] one = WalMessages.envelope("batch", 1007, 1008, note);
    List<OutboxEnvelope.Entry> events = OutboxEnvelope.decode(one);
    assertThat(events).hasSize(1);
    OutboxEnvelope.Entry e = events.get(0);
    assertThat(e.aggregateType()).isEqualTo("batch");
    assertThat(e.aggregateId()).isEqualTo("agg-7");
    assertThat(e.eventType()).isEqualTo("Created");
    assertThat(e.headersJson()).isNull();
    assertThat(e.id().version()).isEqualTo(7);
    String payload = new String(e.payload(), StandardCharsets.UTF_8);
    assertThat(payload).startsWith("{\"ts\" : ").contains("\"n\" : 1007").endsWith(note + "\"}");
    assertThat(e.payload().length).isBetween(190, 230);
    assertThat(CommitClock.payloadTs(e.payload())).isCloseTo(Clock.nowMicros(), within());

    List<OutboxEnvelope.Entry> many =
        OutboxEnvelope.decode(WalMessages.envelope("batch", 0, 500, note));
    assertThat(many).hasSize(500);
    assertThat(many).extracting(OutboxEnvelope.Entry::id).doesNotHaveDuplicates();
    assertThat(many.get(499).aggregateId()).isEqualTo("agg-499");
  }

  private static org.assertj.core.data.Offset<Long> within() {
    return org.assertj.core.data.Offset.offset(Duration.ofMinutes(1).toNanos() / 1000);
  }

  @Test
  void profileCountsTopFramesPackagesAndThreads() {
    List<Profile.Sample> samples = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      samples.add(new Profile.Sample("stream", "io.debezium.util.Strings.hexStringToByteArray"));
    }
    for (int i = 0; i < 3; i++) {
      samples.add(new Profile.Sample("batch", "io.debezium.data.Envelope.create"));
    }
    samples.add(new Profile.Sample("batch", "io.outboxkit.relay.RowConverter$1.convert"));
    Profile.Summary s = Profile.summarize(samples, 2);
    assertThat(s.samples()).isEqualTo(10);
    assertThat(s.frames())
        .containsExactly(
            new Profile.Entry("io.debezium.util.Strings.hexStringToByteArray", 6, 60.0),
            new Profile.Entry("io.debezium.data.Envelope.create", 3, 30.0));
    assertThat(s.packages())
        .containsExactly(
            new Profile.Entry("io.debezium.util", 6, 60.0),
            new Profile.Entry("io.debezium.data", 3, 30.0));
    assertThat(s.threads())
        .containsExactly(new Profile.Entry("stream", 6, 60.0), new Profile.Entry("batch", 4, 40.0));
    assertThat(new Profile.Sample("t", "Main.run").pkg()).isEqualTo("(default package)");
    assertThat(s.text()).contains("60.0 %", "hottest packages (self)", "io.debezium.util");
    assertThat(Profile.summarize(List.of(), 15).frames()).isEmpty();
  }

  /** A real JFR recording of this JVM: the method that burns the CPU is on top. */
  @Test
  void readsTheExecutionSamplesOfARealRecording(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("burn.jfr");
    try (Recording rec = new Recording()) {
      rec.enable(Profile.EXECUTION_SAMPLE).withPeriod(Duration.ofMillis(10));
      rec.start();
      Thread burner = new Thread(ModesAndProfileTest::burnCpu, "obkb-burner");
      burner.start();
      burner.join();
      rec.stop();
      rec.dump(file);
    }
    List<Profile.Sample> samples = Profile.read(file);
    List<Profile.Sample> burner =
        samples.stream().filter(s -> s.thread().equals("obkb-burner")).toList();
    assertThat(burner).as("samples of the burning thread").isNotEmpty();
    Profile.Summary s = Profile.summarize(burner, 15);
    assertThat(s.frames().get(0).name()).endsWith("ModesAndProfileTest.burnCpu");
    assertThat(s.packages().get(0).name()).isEqualTo("io.outboxkit.bench");
  }

  static volatile double sink;

  private static void burnCpu() {
    long end = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    double x = 1;
    while (System.nanoTime() < end) {
      for (int i = 0; i < 10_000; i++) {
        x = x * 1.0000001 + 1e-9;
      }
    }
    sink = x;
  }

  private static Rows.Row row(Results r, String id) {
    return r.rows().stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
  }

  private static List<String> line(Report report, String id) {
    return report.lines().stream()
        .filter(l -> l.row().id().equals(id))
        .findFirst()
        .orElseThrow()
        .cells();
  }
}
