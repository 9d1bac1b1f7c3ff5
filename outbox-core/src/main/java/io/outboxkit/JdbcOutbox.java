package io.outboxkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The outbox writer: plain JDBC on the caller's connection (a JDBI Handle's or a {@link Connection}
 * given directly), one statement per call: an insert into the outbox table, or (WAL message mode)
 * one transactional logical decoding message.
 */
final class JdbcOutbox implements Outbox {
  private static final String COLUMNS = " (" + String.join(", ", OutboxColumns.WRITTEN) + ")";

  private static final String DUAL_WRITE =
      "an outbox row committed apart from its business change is a dual write. ";
  private final TableName table;
  private final ObjectMapper mapper;
  private final boolean deleteAfterInsert;
  private final String messagePrefix;
  private final TextMapPropagator propagator;
  private final String insertOne;
  private final String insertMany;
  private final String delete;
  private final String purgeBatch;

  /**
   * @param messagePrefix the WAL message prefix in WAL message mode, null in table mode
   * @param propagator writes the current trace context into each event's headers; null: tracing off
   */
  JdbcOutbox(
      TableName table,
      ObjectMapper mapper,
      boolean deleteAfterInsert,
      String messagePrefix,
      TextMapPropagator propagator) {
    this.table = table;
    this.mapper = mapper;
    this.deleteAfterInsert = deleteAfterInsert;
    this.messagePrefix = messagePrefix;
    this.propagator = propagator;
    String t = table.qualified();
    this.insertOne = "INSERT INTO " + t + COLUMNS + " VALUES (?, ?, ?, ?, ?, ?::jsonb)";
    this.insertMany =
        "INSERT INTO "
            + t
            + COLUMNS
            + " SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::bytea[],"
            + " ?::jsonb[])";
    this.delete = "DELETE FROM " + t + " WHERE id = ANY(?::uuid[])";
    this.purgeBatch =
        "DELETE FROM "
            + t
            + " WHERE id IN (SELECT id FROM "
            + t
            + " WHERE created_at < ? LIMIT ? FOR UPDATE SKIP LOCKED)";
  }

  @Override
  public TableName table() {
    return table;
  }

  @Override
  public UUID write(Handle handle, OutboxEvent event) {
    return insertOne(connectionInTransaction(handle), event);
  }

  @Override
  public UUID write(Connection connection, OutboxEvent event) {
    return insertOne(inTransaction(connection), event);
  }

  @Override
  public List<UUID> writeAll(Handle handle, List<OutboxEvent> events) {
    return insertAll(connectionInTransaction(handle), events);
  }

  @Override
  public List<UUID> writeAll(Connection connection, List<OutboxEvent> events) {
    return insertAll(inTransaction(connection), events);
  }

  private UUID insertOne(Connection connection, OutboxEvent event) {
    if (messagePrefix != null) {
      return emit(connection, List.of(event)).get(0);
    }
    UUID id = UuidV7.next();
    Row row = row(event);
    try (PreparedStatement ps = connection.prepareStatement(insertOne)) {
      ps.setObject(1, id);
      ps.setString(2, event.aggregateType());
      ps.setString(3, event.aggregateId());
      ps.setString(4, event.eventType());
      ps.setBytes(5, row.payload);
      ps.setString(6, row.headers);
      ps.executeUpdate();
    } catch (SQLException e) {
      throw insertFailed(e);
    }
    if (deleteAfterInsert) {
      deleteRows(connection, new UUID[] {id});
    }
    return id;
  }

  private List<UUID> insertAll(Connection connection, List<OutboxEvent> events) {
    if (events.isEmpty()) {
      return List.of();
    }
    if (events.size() == 1) {
      return List.of(insertOne(connection, events.get(0)));
    }
    if (messagePrefix != null) {
      return emit(connection, events);
    }
    int n = events.size();
    UUID[] ids = new UUID[n];
    String[] aggregateTypes = new String[n];
    String[] aggregateIds = new String[n];
    String[] eventTypes = new String[n];
    byte[][] payloads = new byte[n][];
    String[] headers = new String[n];
    for (int i = 0; i < n; i++) {
      OutboxEvent event = events.get(i);
      Row row = row(event);
      ids[i] = UuidV7.next();
      aggregateTypes[i] = event.aggregateType();
      aggregateIds[i] = event.aggregateId();
      eventTypes[i] = event.eventType();
      payloads[i] = row.payload;
      headers[i] = row.headers;
    }
    try (PreparedStatement ps = connection.prepareStatement(insertMany)) {
      List<Array> arrays = new ArrayList<>(6);
      arrays.add(connection.createArrayOf("uuid", ids));
      arrays.add(connection.createArrayOf("text", aggregateTypes));
      arrays.add(connection.createArrayOf("text", aggregateIds));
      arrays.add(connection.createArrayOf("text", eventTypes));
      arrays.add(connection.createArrayOf("bytea", payloads));
      arrays.add(connection.createArrayOf("text", headers));
      for (int i = 0; i < arrays.size(); i++) {
        ps.setArray(i + 1, arrays.get(i));
      }
      ps.executeUpdate();
    } catch (SQLException e) {
      throw insertFailed(e);
    }
    if (deleteAfterInsert) {
      deleteRows(connection, ids);
    }
    return List.of(ids);
  }

  /** WAL message mode: all events in one envelope, one message, one round trip. */
  private List<UUID> emit(Connection connection, List<OutboxEvent> events) {
    List<OutboxEnvelope.Entry> entries = new ArrayList<>(events.size());
    List<UUID> ids = new ArrayList<>(events.size());
    for (OutboxEvent event : events) {
      Row row = row(event);
      UUID id = UuidV7.next();
      ids.add(id);
      entries.add(
          new OutboxEnvelope.Entry(
              id,
              event.aggregateType(),
              event.aggregateId(),
              event.eventType(),
              row.headers,
              row.payload));
    }
    try (PreparedStatement ps =
        connection.prepareStatement("SELECT pg_logical_emit_message(true, ?, ?::bytea)")) {
      ps.setString(1, messagePrefix);
      ps.setBytes(2, OutboxEnvelope.encode(entries));
      ps.executeQuery().close();
    } catch (SQLException e) {
      throw new OutboxException(
          "emitting a WAL message (prefix " + messagePrefix + ") failed: " + e.getMessage(), e);
    }
    return List.copyOf(ids);
  }

  @Override
  public long purge(Jdbi jdbi, Duration retention, int batchSize) {
    if (messagePrefix != null) {
      return 0; // WAL message mode writes no rows
    }
    if (batchSize < 1) {
      throw new OutboxException("purge batchSize is " + batchSize + ": give 1 or more");
    }
    java.sql.Timestamp cutoff = java.sql.Timestamp.from(Instant.now().minus(retention));
    long total = 0;
    while (true) {
      int deleted =
          jdbi.inTransaction(
              h -> h.createUpdate(purgeBatch).bind(0, cutoff).bind(1, batchSize).execute());
      total += deleted;
      if (deleted < batchSize) {
        return total;
      }
    }
  }

  private void deleteRows(Connection connection, UUID[] ids) {
    try (PreparedStatement ps = connection.prepareStatement(delete)) {
      ps.setArray(1, connection.createArrayOf("uuid", ids));
      ps.executeUpdate();
    } catch (SQLException e) {
      throw new OutboxException("deleting just-written rows from " + table + " failed: " + e, e);
    }
  }

  private record Row(byte[] payload, String headers) {}

  private Row row(OutboxEvent event) {
    Map<String, String> headers = withTraceContext(event.headers());
    byte[] payload;
    String contentType;
    if (event.payload() instanceof Payload.Bytes bytes) {
      payload = bytes.bytes();
      contentType = bytes.contentType();
    } else {
      Object value = ((Payload.Json) event.payload()).value();
      try {
        payload = mapper.writeValueAsBytes(value);
      } catch (JsonProcessingException e) {
        throw new OutboxException(
            "payload of "
                + event.eventType()
                + " could not be serialized to JSON ("
                + e.getOriginalMessage()
                + "): make it a Jackson-serializable type or pass Payload.bytes",
            e);
      }
      contentType = "application/json";
    }
    if (!"application/json".equals(contentType)
        && !headers.containsKey(OutboxHeaders.CONTENT_TYPE)) {
      headers = new LinkedHashMap<>(headers);
      headers.put(OutboxHeaders.CONTENT_TYPE, contentType);
    }
    try {
      return new Row(payload, headers.isEmpty() ? null : mapper.writeValueAsString(headers));
    } catch (JsonProcessingException e) {
      throw new OutboxException("headers could not be written as JSON: " + e.getMessage(), e);
    }
  }

  /**
   * The event's headers plus the current trace context ({@code traceparent}, {@code tracestate},
   * whatever the propagator writes) when tracing is on, there is a current span, and the event does
   * not carry a {@code traceparent} of its own, in any letter case (the writer's own value wins,
   * whole).
   */
  private Map<String, String> withTraceContext(Map<String, String> headers) {
    if (propagator == null
        || headers.keySet().stream().anyMatch(OutboxHeaders.TRACEPARENT::equalsIgnoreCase)) {
      return headers;
    }
    Map<String, String> context = new LinkedHashMap<>();
    OutboxTracing.inject(propagator, Context.current(), context);
    if (context.isEmpty()) {
      return headers;
    }
    Map<String, String> out = new LinkedHashMap<>(headers);
    context.forEach(
        (name, value) -> {
          if (value != null && plainName(name) && !OutboxHeaders.isReserved(name)) {
            out.putIfAbsent(name, value);
          }
        });
    return out;
  }

  /** A name NATS can carry: printable ASCII without space or ':'. */
  private static boolean plainName(String name) {
    if (name == null || name.isEmpty()) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c <= ' ' || c >= 127 || c == ':') {
        return false;
      }
    }
    return true;
  }

  private Connection connectionInTransaction(Handle handle) {
    if (handle == null) {
      throw new OutboxException("handle is null: pass the JDBI Handle of your open transaction");
    }
    if (!handle.isInTransaction()) {
      throw new OutboxException(
          "the handle is not in a transaction: "
              + DUAL_WRITE
              + "Write inside jdbi.useTransaction(handle -> ...) or handle.begin() ..."
              + " handle.commit()");
    }
    return handle.getConnection();
  }

  private static Connection inTransaction(Connection connection) {
    if (connection == null) {
      throw new OutboxException(
          "connection is null: pass the java.sql.Connection of your open transaction");
    }
    boolean autoCommit;
    try {
      autoCommit = connection.getAutoCommit();
    } catch (SQLException e) {
      throw new OutboxException(
          "the connection's transaction state could not be read ("
              + e.getMessage()
              + "): pass an open connection of your transaction",
          e);
    }
    if (autoCommit) {
      throw new OutboxException(
          "the connection is in autocommit mode, not in a transaction: "
              + DUAL_WRITE
              + "Write inside your transaction: connection.setAutoCommit(false) ..."
              + " connection.commit(), or in Spring DataSourceUtils.getConnection(dataSource)"
              + " inside a @Transactional method");
    }
    return connection;
  }

  private OutboxException insertFailed(SQLException e) {
    String hint =
        "42P01".equals(e.getSQLState())
            ? ": the table does not exist; create it with OutboxSchema.migrateOutbox(dataSource, "
                + "TableName.parse(\""
                + table
                + "\"))"
            : "";
    return new OutboxException("insert into " + table + " failed: " + e.getMessage() + hint, e);
  }
}
