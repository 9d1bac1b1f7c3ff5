package io.outboxkit.relay;

import io.outboxkit.UuidV7;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;
import org.postgresql.PGConnection;

/**
 * Writes outbox rows the ways real writers do: single-row transactions, multi-row INSERTs, COPY,
 * and one large transaction. Each method returns the ids it committed, in commit order.
 */
final class OutboxLoad {
  private static final String INSERT_ONE =
      "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload)"
          + " VALUES (?, 'meter', ?, 'ReadingRecorded', ?)";
  private final DataSource ds;

  /** Ids of the operation in progress: when it fails, they may or may not have committed. */
  volatile List<String> attempt = List.of();

  OutboxLoad(DataSource ds) {
    this.ds = ds;
  }

  static byte[] payload(String aggregateId, int n) {
    return ("{\"aggregateId\":\""
            + aggregateId
            + "\",\"n\":"
            + n
            + ",\"pad\":\""
            + "x".repeat(120)
            + "\"}")
        .getBytes(StandardCharsets.UTF_8);
  }

  static String aggregate(int i) {
    return "agg-" + (i % 50);
  }

  /** {@code n} transactions of one row each. */
  List<String> singleRows(int n, int offset) throws SQLException {
    List<String> ids = new ArrayList<>(n);
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(INSERT_ONE)) {
      c.setAutoCommit(true);
      for (int i = 0; i < n; i++) {
        UUID id = UuidV7.next();
        attempt = List.of(id.toString());
        ps.setObject(1, id);
        ps.setString(2, aggregate(offset + i));
        ps.setBytes(3, payload(aggregate(offset + i), offset + i));
        ps.executeUpdate();
        ids.add(id.toString());
      }
    }
    return ids;
  }

  /** {@code statements} multi-row INSERTs of {@code rows} rows, one transaction each. */
  List<String> multiRowInserts(int statements, int rows, int offset) throws SQLException {
    List<String> ids = new ArrayList<>(statements * rows);
    StringBuilder sql =
        new StringBuilder(
            "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload) VALUES ");
    for (int r = 0; r < rows; r++) {
      sql.append(r == 0 ? "" : ",").append("(?, 'meter', ?, 'ReadingRecorded', ?)");
    }
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(sql.toString())) {
      for (int s = 0; s < statements; s++) {
        List<String> batch = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
          int k = offset + s * rows + r;
          UUID id = UuidV7.next();
          ps.setObject(r * 3 + 1, id);
          ps.setString(r * 3 + 2, aggregate(k));
          ps.setBytes(r * 3 + 3, payload(aggregate(k), k));
          batch.add(id.toString());
        }
        attempt = batch;
        ps.executeUpdate();
        ids.addAll(batch);
      }
    }
    return ids;
  }

  /** One COPY of {@code n} rows (a multi-insert in the WAL: many changes at one LSN). */
  List<String> copy(int n, int offset) throws Exception {
    List<String> ids = new ArrayList<>(n);
    StringBuilder csv = new StringBuilder();
    for (int i = 0; i < n; i++) {
      UUID id = UuidV7.next();
      ids.add(id.toString());
      String hex = hex(payload(aggregate(offset + i), offset + i));
      csv.append(id)
          .append("\tmeter\t")
          .append(aggregate(offset + i))
          .append("\tReadingRecorded\t\\\\x")
          .append(hex)
          .append('\n');
    }
    attempt = ids;
    try (Connection c = ds.getConnection()) {
      c.unwrap(PGConnection.class)
          .getCopyAPI()
          .copyIn(
              "COPY public.outbox (id, aggregate_type, aggregate_id, event_type, payload) FROM STDIN",
              new StringReader(csv.toString()));
    }
    return ids;
  }

  /** One transaction of {@code n} single-row INSERT statements. */
  List<String> oneTransaction(int n, int offset) throws SQLException {
    List<String> ids = new ArrayList<>(n);
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(INSERT_ONE)) {
      c.setAutoCommit(false);
      for (int i = 0; i < n; i++) {
        UUID id = UuidV7.next();
        ps.setObject(1, id);
        ps.setString(2, aggregate(offset + i));
        ps.setBytes(3, payload(aggregate(offset + i), offset + i));
        ps.addBatch();
        ids.add(id.toString());
      }
      attempt = ids;
      ps.executeBatch();
      c.commit();
    }
    return ids;
  }

  /** Rows inserted and rolled back: none of them may ever be published. */
  List<String> rolledBack(int n) throws SQLException {
    List<String> ids = new ArrayList<>(n);
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload)"
                    + " VALUES (?, 'meter', 'rolled-back', 'ReadingRecorded', ?)")) {
      c.setAutoCommit(false);
      for (int i = 0; i < n; i++) {
        UUID id = UuidV7.next();
        ps.setObject(1, id);
        ps.setBytes(2, payload("rolled-back", i));
        ps.executeUpdate();
        ids.add(id.toString());
      }
      c.rollback();
    }
    return ids;
  }

  /** A random mix of the shapes above, totalling about {@code n} rows. */
  List<String> mixed(int n, int offset) throws Exception {
    List<String> ids = new ArrayList<>(n);
    while (ids.size() < n) {
      ids.addAll(oneOperation(n - ids.size(), offset + ids.size()));
    }
    return ids;
  }

  /** One transaction of a random shape and at most {@code max} rows. */
  List<String> oneOperation(int max, int offset) throws Exception {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    return switch (r.nextInt(4)) {
      case 0 -> singleRows(1, offset);
      case 1 -> multiRowInserts(1, Math.min(max, 2 + r.nextInt(50)), offset);
      case 2 -> copy(Math.min(max, 2 + r.nextInt(200)), offset);
      default -> oneTransaction(Math.min(max, 2 + r.nextInt(300)), offset);
    };
  }

  private static String hex(byte[] b) {
    StringBuilder sb = new StringBuilder(b.length * 2);
    for (byte x : b) {
      sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
    }
    return sb.toString();
  }
}
