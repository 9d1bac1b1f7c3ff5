package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class UuidV7Test {

  @Test
  void idsAreVersion7AndStrictlyIncreasing() {
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 100_000; i++) {
      ids.add(UuidV7.next());
    }
    for (int i = 1; i < ids.size(); i++) {
      UUID prev = ids.get(i - 1);
      UUID cur = ids.get(i);
      assertThat(cur.version()).isEqualTo(7);
      assertThat(cur.variant()).isEqualTo(2);
      // Unsigned comparison of the time-ordered high bits, as PostgreSQL sorts uuids.
      assertThat(Long.compareUnsigned(cur.getMostSignificantBits(), prev.getMostSignificantBits()))
          .isPositive();
    }
  }

  @Test
  void timestampIsCreationTime() {
    Instant before = Instant.now().minusMillis(1);
    UUID id = UuidV7.next();
    Instant after = Instant.now().plusMillis(1);
    assertThat(UuidV7.timestamp(id)).isBetween(before, after);
  }

  @Test
  void lowerBoundSortsBeforeIdsOfThatInstant() {
    Instant now = Instant.now();
    UUID bound = UuidV7.lowerBound(now);
    UUID id = UuidV7.next();
    assertThat(Long.compareUnsigned(bound.getMostSignificantBits(), id.getMostSignificantBits()))
        .isLessThanOrEqualTo(0);
  }

  @Test
  void timestampRefusesOtherVersions() {
    assertThatThrownBy(() -> UuidV7.timestamp(UUID.randomUUID()))
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("version 4");
  }
}
