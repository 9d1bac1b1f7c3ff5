package io.outboxkit.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HarnessPartsTest {

  @Test
  void readsTheCommitClockFromBothPayloadRenderings() {
    // json_build_object(...)::text for outboxkit's bytea, jsonb text for the peer
    byte[] json =
        "{\"ts\" : 1764167463123456, \"n\" : 7, \"note\" : \"xx\"}"
            .getBytes(StandardCharsets.UTF_8);
    byte[] jsonb =
        "{\"n\": 7, \"ts\": 1764167463123456, \"note\": \"xx\"}".getBytes(StandardCharsets.UTF_8);
    assertThat(CommitClock.payloadTs(json)).isEqualTo(1764167463123456L);
    assertThat(CommitClock.payloadTs(jsonb)).isEqualTo(1764167463123456L);
    assertThat(CommitClock.payloadTs("{\"n\": 1}".getBytes(StandardCharsets.UTF_8))).isEqualTo(-1);
    assertThat(CommitClock.HEADER.commitMicros("42", json)).isEqualTo(42);
    assertThat(CommitClock.HEADER.commitMicros((String) null, json)).isEqualTo(-1);
  }

  @Test
  void aWaitEndsAtTheTargetAndFailsWhenProgressStops() {
    AtomicLong n = new AtomicLong();
    long reached =
        Clock.awaitProgress(
            n::incrementAndGet, 5, Duration.ofSeconds(30), Duration.ofSeconds(60), 1, (c, s) -> "");
    assertThat(reached).isEqualTo(5);

    assertThatThrownBy(
            () ->
                Clock.awaitProgress(
                    () -> 3,
                    5,
                    Duration.ofMillis(50),
                    Duration.ofSeconds(60),
                    5,
                    (c, s) -> "stuck at " + c + " of 5"))
        .isInstanceOf(BenchException.class)
        .hasMessage("stuck at 3 of 5");
  }

  @Test
  void recognisesWhatAHarnessMadeByItsPid() {
    Names n = new Names(4242);
    for (String name :
        List.of(
            n.database(),
            n.peerDatabase(2),
            n.schema("k", 1),
            n.schema("raw", 3),
            n.slot("k", 1),
            n.slot("km", 2),
            n.schema("sm", 1),
            n.stream("p", 2))) {
      assertThat(Names.ownerPid(name)).as(name).isEqualTo(4242);
    }
    assertThat(Names.ownerPid("postgres")).isEqualTo(-1);
    assertThat(Names.ownerPid("t3a0ec830ba8_slot")).isEqualTo(-1);
    assertThat(Names.orphaned(Names.ofThisProcess().database())).isFalse();
  }

  @Test
  void mediansSpreadAndNoise() {
    BenchConfig cfg = BenchArgs.parse("--smoke", "--relay-jar", "/nonexistent.jar");
    Results r = new Results(Rows.of(cfg));
    r.put(1, "batched.rate", Side.OUTBOXKIT, 100);
    r.put(2, "batched.rate", Side.OUTBOXKIT, 130);
    r.put(3, "batched.rate", Side.OUTBOXKIT, 110);
    Results.Stat s = r.stat("batched.rate", Side.OUTBOXKIT);
    assertThat(s.median()).isEqualTo(110);
    assertThat(s.spread()).isCloseTo(30.0 / 110, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(s.noisy()).isTrue();
    r.put(1, "raw.pg_batch", Side.RAW, 500);
    r.put(1, "raw.js", Side.RAW, 300);
    Rows.Row batched =
        r.rows().stream().filter(x -> x.id().equals("batched.rate")).findFirst().orElseThrow();
    assertThat(r.rawLimit(batched)).isEqualTo(300);
    assertThat(new Report(r, false, List.of(Side.OUTBOXKIT), java.util.Map.of()).text())
        .contains("110 ~", "0.37×");
  }

  @Test
  void refusesServersOffLoopbackAndUnknownOptions() {
    assertThatThrownBy(() -> BenchArgs.parse("--pg-host", "10.0.0.5"))
        .hasMessageContaining("loopback");
    assertThatThrownBy(() -> BenchArgs.parse("--nats", "nats://db.example:4222"))
        .hasMessageContaining("loopback");
    assertThatThrownBy(() -> BenchArgs.parse("--frobnicate"))
        .hasMessageContaining("Unknown option")
        .hasMessageContaining("--frobnicate");
    assertThatThrownBy(() -> BenchArgs.parse("--only", "everything"))
        .hasMessageContaining("raw, start, batched");
    assertThatThrownBy(() -> BenchArgs.parse("--smoke", "--with-peer"))
        .hasMessageContaining("--smoke never runs the peer");
  }

  @Test
  void smokeRowsHaveNoPeerAndOnlyRawSkipsTheRelays() {
    BenchConfig smoke = BenchArgs.parse("--smoke");
    assertThat(Rows.of(smoke)).noneMatch(Rows.Row::peer);
    BenchConfig raw = BenchArgs.parse("--only", "raw", "--modes", "table");
    assertThat(raw.runsRelays()).isFalse();
    assertThat(Rows.of(raw)).allMatch(Rows.Row::raw).hasSize(3);
    BenchConfig rawBoth = BenchArgs.parse("--only", "raw", "--modes", "table,message");
    assertThat(Rows.of(rawBoth)).allMatch(Rows.Row::raw).hasSize(5);
    BenchConfig peer = BenchArgs.parse("--with-peer");
    assertThat(Rows.of(peer)).extracting(Rows.Row::id).contains("lat1000d.ack_p99");
  }

  @Test
  void stagePercentilesComeFromTheBucketsRecordedBetweenTwoScrapes() {
    String before =
        "outboxkit_relay_stage_lag_seconds_bucket{stage=\"decoded\",le=\"0.001\"} 10\n"
            + "outboxkit_relay_stage_lag_seconds_bucket{stage=\"decoded\",le=\"0.002\"} 10\n"
            + "outboxkit_relay_stage_lag_seconds_bucket{stage=\"decoded\",le=\"+Inf\"} 10\n"
            + "outboxkit_relay_lag_seconds_bucket{le=\"0.001\"} 0\n"
            + "outboxkit_relay_lag_seconds_bucket{le=\"+Inf\"} 0\n";
    // Between the scrapes: 100 decoded changes, 50 in (0, 1 ms], 50 in (1, 2 ms]; 4 acks, all
    // above the last finite bound.
    String after =
        "outboxkit_relay_stage_lag_seconds_bucket{stage=\"decoded\",le=\"0.001\"} 60\n"
            + "outboxkit_relay_stage_lag_seconds_bucket{stage=\"decoded\",le=\"0.002\"} 110\n"
            + "outboxkit_relay_stage_lag_seconds_bucket{stage=\"decoded\",le=\"+Inf\"} 110\n"
            + "outboxkit_relay_stage_lag_seconds_count{stage=\"decoded\"} 110\n"
            + "outboxkit_relay_lag_seconds_bucket{le=\"0.001\"} 0\n"
            + "outboxkit_relay_lag_seconds_bucket{le=\"+Inf\"} 4\n";
    var figures =
        StageHistograms.between(
            StageHistograms.parse(before), StageHistograms.parse(after), 0.5, 0.99, 0.999);
    assertThat(figures.keySet()).containsExactly("decoded", "acked");
    assertThat(figures.get("decoded").get("count")).isEqualTo(100.0);
    assertThat(figures.get("decoded").get("p50")).isCloseTo(1.0, within(1e-9));
    assertThat(figures.get("decoded").get("p99")).isCloseTo(1.98, within(1e-9));
    assertThat(figures.get("decoded")).containsKey("p99.9");
    assertThat(figures.get("acked").get("p50")).isEqualTo(1.0);
  }
}
