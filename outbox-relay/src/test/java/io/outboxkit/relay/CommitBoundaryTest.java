package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class CommitBoundaryTest {

  @Test
  void onlyMessageOffsetsAtOneLsnAreResumePoints() {
    assertThat(
            CommitBoundary.isSafeResumePoint(
                Map.of("messageType", "MESSAGE", "lsn", 10L, "lsn_proc", 10L, "lsn_commit", 10L)))
        .isTrue();
  }

  @Test
  void commitsAreNot() {
    // Debezium 3.6.1 can skip an interleaved transaction when it resumes from a COMMIT offset
    // (WalPositionLocator): see CommitBoundary.
    assertThat(
            CommitBoundary.isSafeResumePoint(
                Map.of("messageType", "COMMIT", "lsn", 10L, "lsn_proc", 10L, "lsn_commit", 10L)))
        .isFalse();
  }

  @Test
  void dataRowsNeverAre() {
    // The offset every row of a COPY shares in Debezium 3.6.1 (dbz#1554).
    assertThat(
            CommitBoundary.isSafeResumePoint(
                Map.of("messageType", "INSERT", "lsn", 10L, "lsn_proc", 10L, "lsn_commit", 8L)))
        .isFalse();
    assertThat(
            CommitBoundary.isSafeResumePoint(
                Map.of("messageType", "INSERT", "lsn", 10L, "lsn_proc", 10L, "lsn_commit", 10L)))
        .isFalse();
    // A heartbeat emitted right after a row carries the row's offset.
    assertThat(
            CommitBoundary.isSafeResumePoint(
                Map.of("messageType", "COMMIT", "lsn", 12L, "lsn_proc", 10L, "lsn_commit", 10L)))
        .isFalse();
    assertThat(CommitBoundary.isSafeResumePoint(Map.of("lsn", 12L))).isFalse();
    assertThat(CommitBoundary.isSafeResumePoint(null)).isFalse();
  }
}
