package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private final Backoff backoff = Backoff.of(Duration.ofMillis(100), Duration.ofSeconds(5));

  @Test
  void doublesUpToTheMaximum() {
    assertThat(backoff.ceiling(1)).isEqualTo(Duration.ofMillis(100));
    assertThat(backoff.ceiling(2)).isEqualTo(Duration.ofMillis(200));
    assertThat(backoff.ceiling(6)).isEqualTo(Duration.ofMillis(3200));
    assertThat(backoff.ceiling(7)).isEqualTo(Duration.ofSeconds(5));
    assertThat(backoff.ceiling(Long.MAX_VALUE)).isEqualTo(Duration.ofSeconds(5));
  }

  @Property(tries = 300)
  void jitteredDelayIsBetweenHalfAndAllOfTheCeiling(@ForAll @LongRange(min = 1, max = 100) long n) {
    Duration d = backoff.delay(n);
    Duration c = backoff.ceiling(n);
    assertThat(d).isBetween(c.dividedBy(2), c);
  }

  @Test
  void refusesNonsense() {
    assertThatThrownBy(() -> Backoff.of(Duration.ZERO, Duration.ofSeconds(1)))
        .hasMessageContaining("positive");
    assertThatThrownBy(() -> Backoff.of(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .hasMessageContaining("below the initial");
  }
}
