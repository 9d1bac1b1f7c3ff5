package io.outboxkit.relay;

import java.util.Map;

/**
 * Which records may be marked processed, so that their offset is stored: only safe resume points.
 *
 * <p>Debezium 3.6.1 gives every row of one multi-insert WAL record (a {@code COPY}) the same
 * offset, and on restart skips all rows at the stored LSN (Debezium issue dbz#1554, fixed only in
 * 3.7). A relay that stored the offset of row 10 of a 100-row COPY would lose rows 11 to 100. So
 * the relay never stores the offset of a data row: it stores only the offsets of transaction
 * commits and of non-transactional logical messages (its own heartbeats, every {@code
 * engine.heartbeat-interval}, and a marker at shutdown), whose offsets have {@code lsn == lsn_proc
 * == lsn_commit}. Resuming from one replays whole transactions after it; JetStream drops the
 * replays by {@code Nats-Msg-Id}. This reads Debezium 3.6.1's offset keys; re-check them when
 * upgrading.
 */
final class CommitBoundary {
  private CommitBoundary() {}

  static boolean isSafeResumePoint(Map<String, ?> offset) {
    if (offset == null) {
      return false;
    }
    Object type = offset.get("messageType");
    Object lsn = offset.get("lsn");
    Object proc = offset.get("lsn_proc");
    Object commit = offset.get("lsn_commit");
    return ("COMMIT".equals(type) || "MESSAGE".equals(type))
        && lsn != null
        && lsn.equals(proc)
        && lsn.equals(commit);
  }

  /** The record's LSN, or -1. */
  static long lsn(Map<String, ?> offset) {
    Object lsn = offset == null ? null : offset.get("lsn");
    return lsn instanceof Number n ? n.longValue() : -1;
  }
}
