package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LeaseTest {
  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final Lease lease = new Lease(Duration.ofSeconds(10), clock::get);

  private void advance(Duration d) {
    clock.addAndGet(d.toNanos());
  }

  @Test
  void notHeldUntilRenewed() {
    assertThat(lease.valid()).isFalse();
    assertThat(lease.remaining()).isZero();
  }

  @Test
  void runsFromWhenTheRenewingStatementWasSentNotFromWhenItAnswered() {
    long sentAt = lease.now();
    advance(Duration.ofSeconds(3)); // a slow answer
    lease.renewed(sentAt);
    assertThat(lease.remaining()).isEqualTo(Duration.ofSeconds(7));
    advance(Duration.ofMillis(6999));
    assertThat(lease.valid()).isTrue();
    advance(Duration.ofMillis(1));
    assertThat(lease.valid()).as("over exactly at sentAt + timeout").isFalse();
  }

  @Test
  void aFrozenProcessFindsItsLeaseOverWhenItWakes() {
    lease.renewed(lease.now());
    advance(Duration.ofSeconds(30)); // SIGSTOP: the monotonic clock runs on
    assertThat(lease.valid()).isFalse();
    assertThat(lease.remaining()).isZero();
  }

  @Test
  void aLateAnswerToAnOlderRenewalNeverShortensTheLease() {
    long older = lease.now();
    advance(Duration.ofSeconds(2));
    long newer = lease.now();
    lease.renewed(newer);
    lease.renewed(older);
    assertThat(lease.remaining()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void lostEndsItAtOnceAndOnlyANewRenewalRestartsIt() {
    lease.renewed(lease.now());
    lease.lost();
    assertThat(lease.valid()).isFalse();
    long sentAt = lease.now();
    lease.renewed(sentAt);
    assertThat(lease.valid()).isTrue();
  }

  @Test
  void aLeaseLostBeforeALateRenewalCompletesCountsOnlyFromThatRenewal() {
    long sentAt = lease.now();
    advance(Duration.ofSeconds(12));
    lease.renewed(sentAt); // answered after its own lease would have ended
    assertThat(lease.valid()).isFalse();
  }

  @Test
  void renewsEveryThirdOfTheTimeout() {
    assertThat(lease.renewEvery())
        .isEqualTo(Duration.ofNanos(Duration.ofSeconds(10).toNanos() / 3));
  }

  @Test
  void survivesTheClockWrappingAround() {
    clock.set(Long.MAX_VALUE - Duration.ofSeconds(1).toNanos());
    lease.renewed(lease.now());
    advance(Duration.ofSeconds(5)); // past Long.MAX_VALUE: nanoTime may wrap
    assertThat(lease.valid()).isTrue();
    advance(Duration.ofSeconds(6));
    assertThat(lease.valid()).isFalse();
  }
}
