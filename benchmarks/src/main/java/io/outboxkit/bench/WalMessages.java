package io.outboxkit.bench;

import io.outboxkit.OutboxEnvelope;
import io.outboxkit.UuidV7;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The WAL-message outbox mode as the harness writes it: each event an outbox-core envelope ({@link
 * OutboxEnvelope}, version OBX1) in a transactional logical decoding message, {@code
 * pg_logical_emit_message(true, prefix, envelope)}, the statement {@code Outbox} runs in {@code
 * WAL_MESSAGE} mode. No heap row, no index entry. The same logical event as {@link OutboxTable}
 * writes, but the payload's {@code ts} is the writer's clock taken as it builds the envelope (a
 * row's is PostgreSQL's {@code clock_timestamp()}); the relay's {@code Outbox-Commit-Us} header,
 * the clock the harness times outboxkit by, comes from the WAL's commit record in both modes.
 *
 * @param prefix the message prefix; the relay under test listens to exactly this one
 * @param eventsPerMessage in {@link Session#many}: events per envelope (1 = one message per event,
 *     as {@code Outbox.write}; a whole transaction's = one message, as {@code Outbox.writeAll})
 */
record WalMessages(String prefix, int payloadBytes, int eventsPerMessage) implements EventWriter {

  /** One event in one message; in autocommit mode its own transaction. */
  static final String EMIT_ONE = "SELECT pg_logical_emit_message(true, ?, ?::bytea)";

  /**
   * Several messages in one statement (one round trip), emitted in array order: a function scan
   * returns an array's elements in order and the aggregate consumes them as they come.
   */
  static final String EMIT_MANY =
      "SELECT count(pg_logical_emit_message(true, ?, e)) FROM unnest(?::bytea[]) AS u(e)";

  WalMessages {
    if (eventsPerMessage < 1) {
      throw new IllegalArgumentException("eventsPerMessage " + eventsPerMessage);
    }
  }

  @Override
  public Session open(Connection c) throws SQLException {
    PreparedStatement one = c.prepareStatement(EMIT_ONE);
    PreparedStatement many = c.prepareStatement(EMIT_MANY);
    one.setString(1, prefix);
    many.setString(1, prefix);
    String note = EventWriter.note(payloadBytes);
    return new Session() {
      @Override
      public void one(String aggregateType, long n) throws SQLException {
        one.setBytes(2, envelope(aggregateType, n, n + 1, note));
        try (ResultSet rs = one.executeQuery()) {
          rs.next();
        }
      }

      @Override
      public void many(String aggregateType, long from, long to) throws SQLException {
        List<byte[]> envelopes = new ArrayList<>();
        for (long i = from; i < to; i += eventsPerMessage) {
          envelopes.add(envelope(aggregateType, i, Math.min(to, i + eventsPerMessage), note));
        }
        many.setArray(2, c.createArrayOf("bytea", envelopes.toArray(new byte[0][])));
        try (ResultSet rs = many.executeQuery()) {
          if (!rs.next() || rs.getLong(1) != envelopes.size()) {
            throw new SQLException(
                "emitted fewer WAL messages than the " + envelopes.size() + " given");
          }
        }
      }

      @Override
      public void close() throws SQLException {
        one.close();
        many.close();
      }
    };
  }

  /** Events {@code from} … {@code to - 1} in one envelope, with fresh UUIDv7 ids. */
  static byte[] envelope(String aggregateType, long from, long to, String note) {
    List<OutboxEnvelope.Entry> entries = new ArrayList<>((int) (to - from));
    for (long n = from; n < to; n++) {
      entries.add(
          new OutboxEnvelope.Entry(
              UuidV7.next(),
              aggregateType,
              "agg-" + (n % 1000),
              "Created",
              null,
              payload(n, note)));
    }
    return OutboxEnvelope.encode(entries);
  }

  /** The JSON a row's payload has, rendered as {@code json_build_object(...)::text} does. */
  static byte[] payload(long n, String note) {
    return ("{\"ts\" : " + Clock.nowMicros() + ", \"n\" : " + n + ", \"note\" : \"" + note + "\"}")
        .getBytes(StandardCharsets.UTF_8);
  }
}
