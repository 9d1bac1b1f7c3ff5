package io.outboxkit.bench;

import io.nats.client.impl.Headers;
import io.outboxkit.OutboxHeaders;

/**
 * Where an event's commit time comes from; both are PostgreSQL's clock, never the writer's.
 *
 * <ul>
 *   <li>{@link #HEADER}: outboxkit's relay sets {@code Outbox-Commit-Us} from the commit timestamp
 *       PostgreSQL writes into the WAL's commit record (what Debezium reports as {@code
 *       source.ts_us}).
 *   <li>{@link #PAYLOAD}: the payload's {@code ts}, {@code clock_timestamp()} evaluated by the
 *       INSERT, the transaction's last statement; Debezium Server passes no commit time on. It lies
 *       a few microseconds before the commit timestamp, so it slightly overstates latency.
 * </ul>
 */
enum CommitClock {
  HEADER,
  PAYLOAD;

  /** Epoch µs of the commit, or -1 when the message does not carry it. */
  long commitMicros(Headers headers, byte[] payload) {
    return commitMicros(
        headers == null ? null : headers.getFirst(OutboxHeaders.COMMIT_TIME), payload);
  }

  /** Same, given the {@code Outbox-Commit-Us} header's value (or null). */
  long commitMicros(String commitHeader, byte[] payload) {
    if (this == HEADER) {
      return commitHeader == null ? -1 : Long.parseLong(commitHeader);
    }
    return payloadTs(payload);
  }

  /** The number after {@code "ts"} in a JSON payload (either rendering: json or jsonb). */
  static long payloadTs(byte[] p) {
    if (p == null) {
      return -1;
    }
    outer:
    for (int i = 0; i + 4 < p.length; i++) {
      if (p[i] == '"' && p[i + 1] == 't' && p[i + 2] == 's' && p[i + 3] == '"') {
        int j = i + 4;
        while (j < p.length && (p[j] == ' ' || p[j] == ':')) {
          j++;
        }
        long v = 0;
        int start = j;
        while (j < p.length && p[j] >= '0' && p[j] <= '9') {
          v = v * 10 + (p[j] - '0');
          j++;
        }
        if (j == start) {
          continue outer;
        }
        return v;
      }
    }
    return -1;
  }
}
