package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The status page's window of commit → ack latencies and ack counts. */
class LagWindowTest {
  private static final long T0 = 1_764_590_400_000L; // a whole second

  @Test
  void percentilesOfAKnownDistributionWithinOneSixteenthAbove() {
    LagWindow w = new LagWindow(60, 10, T0);
    // 1..1000 ms, shuffled, within one second
    long[] values = new long[1000];
    for (int i = 0; i < values.length; i++) {
      values[i] = (i + 1) * 1000L;
    }
    shuffle(values, new Random(7));
    for (long v : values) {
      w.record(T0 + 500, v);
    }
    LagWindow.Snapshot s = w.snapshot(T0 + 900);
    assertThat(s.samples()).isEqualTo(1000);
    assertThat(s.events()).isEqualTo(1000);
    assertThat(s.p50Micros()).isBetween(500_000L, 500_000L + 500_000L / 16);
    assertThat(s.p99Micros()).isBetween(990_000L, 990_000L + 990_000L / 16);
    assertThat(s.maxMicros()).isEqualTo(1_000_000L);
    assertThat(s.p99Micros()).isLessThanOrEqualTo(s.maxMicros());
  }

  @Test
  void aFewSlowOnesMoveP99NotP50() {
    LagWindow w = new LagWindow(60, 10, T0);
    for (int i = 0; i < 980; i++) {
      w.record(T0 + i, 20_000); // 20 ms
    }
    for (int i = 0; i < 20; i++) {
      w.record(T0 + i, 3_000_000); // 3 s
    }
    LagWindow.Snapshot s = w.snapshot(T0 + 999);
    assertThat(s.p50Micros()).isBetween(20_000L, 20_000L + 20_000L / 16);
    assertThat(s.p99Micros()).isEqualTo(3_000_000L); // capped at the largest value seen
  }

  @Test
  void smallValuesAreExact() {
    LagWindow w = new LagWindow(60, 10, T0);
    for (long v = 0; v < 16; v++) {
      w.record(T0, v);
    }
    LagWindow.Snapshot s = w.snapshot(T0);
    assertThat(s.p50Micros()).isEqualTo(7);
    assertThat(s.maxMicros()).isEqualTo(15);
  }

  @Test
  void valuesLeaveTheWindowAfterItsLength() {
    LagWindow w = new LagWindow(60, 10, T0);
    w.record(T0, 5_000_000); // 5 s, at second 0
    w.record(T0 + 30_000, 1_000); // 1 ms, at second 30
    assertThat(w.snapshot(T0 + 59_999).maxMicros()).isEqualTo(5_000_000);
    assertThat(w.snapshot(T0 + 59_999).samples()).isEqualTo(2);
    LagWindow.Snapshot later = w.snapshot(T0 + 60_000);
    assertThat(later.samples()).isEqualTo(1);
    assertThat(later.maxMicros()).isEqualTo(1_000);
    assertThat(later.p99Micros()).isEqualTo(1_000);
    LagWindow.Snapshot empty = w.snapshot(T0 + 90_000);
    assertThat(empty.samples()).isZero();
    assertThat(empty.events()).isZero();
    assertThat(empty.p50Micros()).isEqualTo(-1);
    assertThat(empty.p99Micros()).isEqualTo(-1);
  }

  @Test
  void aSlotIsReusedOneWindowLaterWithoutItsOldCounts() {
    LagWindow w = new LagWindow(60, 10, T0);
    for (int i = 0; i < 100; i++) {
      w.record(T0 + 10, 9_000_000);
    }
    w.record(T0 + 60_010, 2_000); // same slot, one window later
    LagWindow.Snapshot s = w.snapshot(T0 + 60_020);
    assertThat(s.samples()).isEqualTo(1);
    assertThat(s.events()).isEqualTo(1);
    assertThat(s.maxMicros()).isEqualTo(2_000);
  }

  @Test
  void rateAveragesTheLastWholeSecondsNotTheCurrentOne() {
    LagWindow w = new LagWindow(60, 10, T0);
    // 100 events in each of seconds 0..29, 5 in the current second 30
    for (int sec = 0; sec < 30; sec++) {
      for (int i = 0; i < 100; i++) {
        w.record(T0 + sec * 1000L + i, 1_000);
      }
    }
    for (int i = 0; i < 5; i++) {
      w.record(T0 + 30_000 + i, 1_000);
    }
    LagWindow.Snapshot s = w.snapshot(T0 + 30_500);
    assertThat(s.eventsPerSecond()).isEqualTo(100.0);
    assertThat(s.rateSeconds()).isEqualTo(10);
    assertThat(s.events()).isEqualTo(3005);
    // a silent stretch: the rate falls to 0 once 10 whole seconds passed without acks
    assertThat(w.snapshot(T0 + 40_000).eventsPerSecond()).isEqualTo(0.5); // only second 30's 5
    assertThat(w.snapshot(T0 + 41_000).eventsPerSecond()).isZero();
  }

  @Test
  void rateRightAfterStartDividesByTheSecondsSinceStart() {
    LagWindow w = new LagWindow(60, 10, T0);
    for (int i = 0; i < 300; i++) {
      w.record(T0 + 1000 + i, 1_000); // second 1
    }
    for (int i = 0; i < 100; i++) {
      w.record(T0 + 2000 + i, 1_000); // second 2
    }
    LagWindow.Snapshot s = w.snapshot(T0 + 3_100);
    assertThat(s.rateSeconds()).isEqualTo(3);
    assertThat(s.eventsPerSecond()).isCloseTo(400 / 3.0, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void eventsWithoutACommitTimeCountButAreNoSample() {
    LagWindow w = new LagWindow(60, 10, T0);
    w.record(T0, -1);
    w.record(T0, -1);
    w.record(T0, 4_000);
    LagWindow.Snapshot s = w.snapshot(T0);
    assertThat(s.events()).isEqualTo(3);
    assertThat(s.samples()).isEqualTo(1);
    assertThat(s.p50Micros()).isEqualTo(4_000);
  }

  @Test
  void everyValueFallsIntoABucketWhoseTopIsWithinOneSixteenthAbove() {
    Random r = new Random(42);
    int previous = -1;
    for (long v = 0; v < 100_000; v++) {
      int b = LagWindow.bucket(v);
      assertThat(b).isGreaterThanOrEqualTo(previous); // monotonic
      previous = b;
      assertThat(LagWindow.highest(b)).isGreaterThanOrEqualTo(v).isLessThanOrEqualTo(v + v / 16);
    }
    for (int i = 0; i < 100_000; i++) {
      long v = (long) Math.exp(r.nextDouble() * Math.log(1L << 41));
      int b = LagWindow.bucket(v);
      assertThat(b).isBetween(0, LagWindow.BUCKETS - 1);
      assertThat(LagWindow.highest(b)).isGreaterThanOrEqualTo(v).isLessThanOrEqualTo(v + v / 16);
      if (b > 0) {
        assertThat(LagWindow.highest(b - 1)).isLessThan(v);
      }
    }
    assertThat(LagWindow.bucket(Long.MAX_VALUE)).isEqualTo(LagWindow.BUCKETS - 1);
  }

  @Test
  void refusesAWindowShorterThanItsRate() {
    assertThatThrownBy(() -> new LagWindow(10, 10, T0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void concurrentRecordingLosesNothing() throws InterruptedException {
    LagWindow w = new LagWindow(60, 10, T0);
    Thread[] threads = new Thread[4];
    for (int t = 0; t < threads.length; t++) {
      threads[t] =
          new Thread(
              () -> {
                for (int i = 0; i < 50_000; i++) {
                  w.record(T0 + (i % 1000), 1_000 + i);
                }
              });
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(w.snapshot(T0 + 999).samples()).isEqualTo(200_000);
  }

  private static void shuffle(long[] a, Random r) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      long t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    assertThat(Arrays.stream(a).sum()).isEqualTo(500_500_000L);
  }
}
