package io.outboxkit.relay;

import io.outboxkit.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Outbox rows still in the table, read back and turned into the messages the relay publishes, by
 * the relay's own conversion rule ({@link RowConverter#event}).
 */
final class OutboxRows {
  /**
   * Which rows: ids from {@code fromId} (inclusive) to {@code toId} (inclusive), created from
   * {@code since} (inclusive) to {@code until} (exclusive); null means open.
   */
  record Range(UUID fromId, UUID toId, OffsetDateTime since, OffsetDateTime until) {
    static final Range ALL = new Range(null, null, null, null);

    String where(ColumnMap columns) {
      StringBuilder sb = new StringBuilder();
      if (fromId != null) {
        sb.append(" AND ").append(columns.id()).append(" >= ?");
      }
      if (toId != null) {
        sb.append(" AND ").append(columns.id()).append(" <= ?");
      }
      if ((since != null || until != null) && columns.createdAt() == null) {
        throw RelayException.badSetting(
            "outboxkit.relay.columns.created-at",
            "is none, so rows cannot be chosen by time",
            "name the outbox table's creation time column, or choose rows by id"
                + " (--from-id/--to-id) or --all");
      }
      if (since != null) {
        sb.append(" AND ").append(columns.createdAt()).append(" >= ?");
      }
      if (until != null) {
        sb.append(" AND ").append(columns.createdAt()).append(" < ?");
      }
      return sb.toString();
    }

    int bind(PreparedStatement ps, int i) throws SQLException {
      if (fromId != null) {
        ps.setObject(i++, fromId);
      }
      if (toId != null) {
        ps.setObject(i++, toId);
      }
      if (since != null) {
        ps.setObject(i++, since);
      }
      if (until != null) {
        ps.setObject(i++, until);
      }
      return i;
    }

    /** The range {@link #toString} wrote. */
    static Range parse(String s) {
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("ids (\\S+)\\.\\.(\\S+), created (\\S+)\\.\\.(\\S+)")
              .matcher(s);
      if (!m.matches()) {
        throw new IllegalArgumentException("not a range: " + s);
      }
      return new Range(
          m.group(1).equals("*") ? null : UUID.fromString(m.group(1)),
          m.group(2).equals("*") ? null : UUID.fromString(m.group(2)),
          m.group(3).equals("*") ? null : OffsetDateTime.parse(m.group(3)),
          m.group(4).equals("*") ? null : OffsetDateTime.parse(m.group(4)));
    }

    @Override
    public String toString() {
      return "ids "
          + (fromId == null ? "*" : fromId)
          + ".."
          + (toId == null ? "*" : toId)
          + ", created "
          + (since == null ? "*" : since)
          + ".."
          + (until == null ? "*" : until);
    }
  }

  /** A row read back: its id, when it was written, and what the relay makes of it. */
  record Row(UUID id, OffsetDateTime createdAt, OutboundMessage message) {}

  private final CliSession session;
  private final RowConverter converter;
  private final ColumnMap map;
  private final String columns;

  OutboxRows(CliSession session) {
    this.session = session;
    this.converter = session.converter();
    this.map = session.settings.columns();
    this.columns =
        String.join(
            ", ",
            map.id(),
            map.aggregateType(),
            map.aggregateId(),
            map.eventType(),
            map.payload(),
            map.headers() == null ? "NULL::text" : map.headers() + "::text",
            map.createdAt() == null ? "NULL::timestamptz" : map.createdAt());
  }

  /** Rows in {@code range}, of one table. */
  long count(Connection c, TableName table, Range range) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT count(*) FROM " + table.qualified() + " WHERE true" + range.where(map))) {
      range.bind(ps, 1);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** The next {@code limit} rows in {@code range} after id {@code after} (null: from the start). */
  List<Row> page(Connection c, TableName table, Range range, UUID after, int limit)
      throws SQLException {
    String sql =
        "SELECT "
            + columns
            + " FROM "
            + table.qualified()
            + " WHERE true"
            + (after == null ? "" : " AND " + map.id() + " > ?")
            + range.where(map)
            + " ORDER BY "
            + map.id()
            + " LIMIT "
            + limit;
    List<Row> rows = new ArrayList<>(limit);
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 1;
      if (after != null) {
        ps.setObject(i++, after);
      }
      range.bind(ps, i);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(row(rs));
        }
      }
    }
    return rows;
  }

  /** The row of {@code id} in any outbox table, or null. */
  Row find(Connection c, UUID id) throws SQLException {
    for (TableName t : session.settings.tables()) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT " + columns + " FROM " + t.qualified() + " WHERE " + map.id() + " = ?")) {
        ps.setObject(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            return row(rs);
          }
        }
      }
    }
    return null;
  }

  /**
   * The message for one event by the relay's rule; the commit time is not known again (0), and a
   * republished event carries no replay position.
   */
  OutboundMessage convert(
      String id,
      String aggregateType,
      String aggregateId,
      String eventType,
      byte[] payload,
      String headersJson,
      long commitMicros) {
    return converter.event(
        id, aggregateType, aggregateId, eventType, payload, headersJson, commitMicros, 0);
  }

  private Row row(ResultSet rs) throws SQLException {
    UUID id = rs.getObject(1, UUID.class);
    OutboundMessage m =
        convert(
            id.toString(),
            rs.getString(2),
            rs.getString(3),
            rs.getString(4),
            payload(rs),
            rs.getString(6),
            0);
    return new Row(id, rs.getObject(7, OffsetDateTime.class), m);
  }

  /** bytea as it is; jsonb, json and text as their UTF-8 text, as the relay publishes them. */
  private static byte[] payload(ResultSet rs) throws SQLException {
    if ("bytea".equals(rs.getMetaData().getColumnTypeName(5))) {
      return rs.getBytes(5);
    }
    String text = rs.getString(5);
    return text == null ? null : text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}
