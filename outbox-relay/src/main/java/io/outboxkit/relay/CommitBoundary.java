package io.outboxkit.relay;

import java.util.Map;

/**
 * Which records may be marked processed, so that their offset is stored: only the relay's own
 * checkpoints, non-transactional logical messages it writes into the WAL every {@code
 * engine.heartbeat-interval} (and a marker at shutdown), whose offsets have {@code lsn == lsn_proc
 * == lsn_commit} and {@code messageType = MESSAGE}.
 *
 * <p>Why not transaction commits: Debezium 3.6.1 resumes from a stored COMMIT offset by searching
 * the resume position ({@code WalPositionLocator}); when the first transaction sent after the
 * restart began before that commit and wrote a row exactly at the commit's end LSN, the search
 * settles on that transaction's COMMIT and filters out its BEGIN and rows: they are lost. For a
 * stored MESSAGE offset Debezium resumes from the first LSN it receives, and PostgreSQL sends every
 * transaction that commits after the message in full, so nothing is skipped whatever the
 * interleaving. Why not data rows: rows of one multi-insert WAL record share an offset, and
 * Debezium skips all rows at a stored LSN on restart (dbz#1554, fixed only in 3.7). Resuming from a
 * checkpoint replays whole transactions after it; the relay then skips what the stream already
 * holds. This reads Debezium 3.6.1's offset keys; re-check them when upgrading.
 */
final class CommitBoundary {
  private CommitBoundary() {}

  static boolean isSafeResumePoint(Map<String, ?> offset) {
    if (offset == null) {
      return false;
    }
    Object lsn = offset.get("lsn");
    return "MESSAGE".equals(offset.get("messageType"))
        && lsn != null
        && lsn.equals(offset.get("lsn_proc"))
        && lsn.equals(offset.get("lsn_commit"));
  }
}
