package io.outboxkit.bench;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * How the harness writes its events: rows into an outbox table ({@link OutboxTable}) or
 * transactional WAL messages ({@link WalMessages}). Both write the same logical event number {@code
 * n}: a UUIDv7 id, the workload's aggregate type, aggregate id {@code agg-(n % 1000)}, event type
 * {@code Created} and a JSON payload of about 200 bytes ({@code {"ts", "n", "note"}}).
 */
interface EventWriter {
  /** The filler that brings a payload to about {@code payloadBytes}. */
  static String note(int payloadBytes) {
    return "x".repeat(Math.max(1, payloadBytes - 60));
  }

  /** Prepares the statements of one writer thread on its own connection. */
  Session open(Connection c) throws SQLException;

  /** One writer's statements, in the transaction state the caller set. Not thread-safe. */
  interface Session extends AutoCloseable {
    /** Event {@code n} in one statement (one round trip). */
    void one(String aggregateType, long n) throws SQLException;

    /** Events {@code from} … {@code to - 1}, in this order, in one round trip. */
    void many(String aggregateType, long from, long to) throws SQLException;

    @Override
    void close() throws SQLException;
  }
}
