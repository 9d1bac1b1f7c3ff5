package io.outboxkit.bench;

import io.outboxkit.UuidV7;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * An outbox table and how the harness writes one logical event into it. Both flavours get the same
 * row: a UUIDv7 id, aggregate type (one per workload), aggregate id, event type {@code Created},
 * and a JSON payload of about {@code payloadBytes} bytes whose {@code ts} field is PostgreSQL's
 * {@code clock_timestamp()} (epoch µs) taken inside the transaction right before it commits.
 *
 * @param flavor outboxkit's columns (payload bytea) or Debezium's defaults (payload jsonb)
 * @param qualifiedName schema.table
 */
record OutboxTable(Flavor flavor, String qualifiedName, int payloadBytes) implements EventWriter {

  /** The column layout. */
  enum Flavor {
    /** id, aggregate_type, aggregate_id, event_type, payload bytea, headers, created_at. */
    OUTBOXKIT,
    /** id, aggregatetype, aggregateid, type, payload jsonb (Debezium's Outbox Event Router). */
    DEBEZIUM
  }

  private static final String TS = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

  String insertSql() {
    return switch (flavor) {
      case OUTBOXKIT ->
          "INSERT INTO "
              + qualifiedName
              + " (id, aggregate_type, aggregate_id, event_type, payload) VALUES (?, ?, ?,"
              + " 'Created', convert_to(json_build_object('ts', "
              + TS
              + ", 'n', ?::bigint, 'note', ?::text)::text, 'UTF8'))";
      case DEBEZIUM ->
          "INSERT INTO "
              + qualifiedName
              + " (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, ?, 'Created',"
              + " jsonb_build_object('ts', "
              + TS
              + ", 'n', ?::bigint, 'note', ?::text))";
    };
  }

  /** The filler that brings the payload to about {@code payloadBytes}. */
  String note() {
    return EventWriter.note(payloadBytes);
  }

  /** One INSERT per event; {@link Session#many} sends them as one JDBC batch. */
  @Override
  public Session open(Connection c) throws SQLException {
    PreparedStatement ps = c.prepareStatement(insertSql());
    String note = note();
    return new Session() {
      @Override
      public void one(String aggregateType, long n) throws SQLException {
        bind(ps, aggregateType, n, note);
        ps.executeUpdate();
      }

      @Override
      public void many(String aggregateType, long from, long to) throws SQLException {
        for (long i = from; i < to; i++) {
          bind(ps, aggregateType, i, note);
          ps.addBatch();
        }
        ps.executeBatch();
      }

      @Override
      public void close() throws SQLException {
        ps.close();
      }
    };
  }

  /** Binds event number {@code n} of aggregate type {@code aggregateType}. */
  void bind(PreparedStatement ps, String aggregateType, long n, String note) throws SQLException {
    ps.setObject(1, UuidV7.next());
    ps.setString(2, aggregateType);
    ps.setString(3, "agg-" + (n % 1000));
    ps.setLong(4, n);
    ps.setString(5, note);
  }
}
