package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class OutboxExceptionTest {
  @Test
  void describeAddsTheRootCause() {
    Exception e = new IllegalStateException("apply failed", new SQLException("disk full"));
    assertThat(OutboxException.describe(e))
        .isEqualTo("IllegalStateException: apply failed (caused by SQLException: disk full)");
    assertThat(OutboxException.describe(new NullPointerException()))
        .isEqualTo("NullPointerException");
    Exception same = new IllegalStateException("x: disk full", new SQLException("disk full"));
    assertThat(OutboxException.describe(same)).isEqualTo("IllegalStateException: x: disk full");
  }
}
