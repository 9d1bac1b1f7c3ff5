package io.outboxkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.api.OpenTelemetry;
import io.outboxkit.internal.Json;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Writes outbox events in the caller's transaction, so that the business change and the event
 * commit together or not at all. Thread-safe; build one and share it.
 *
 * <pre>{@code
 * Outbox outbox = Outbox.builder().table(TableName.of("public", "outbox")).build();
 *
 * jdbi.useTransaction(handle -> {
 *   handle.execute("INSERT INTO reading(meter_id, kwh) VALUES (?, ?)", "m-42", 1.25);
 *   outbox.write(handle, OutboxEvent.of("meter", "m-42", "ReadingRecorded", reading));
 * });
 *
 * // Tracing: the current span's traceparent travels in the event's headers
 * Outbox traced = Outbox.builder().openTelemetry(openTelemetry).build();
 *
 * // Without JDBI: the java.sql.Connection of the transaction, e.g. in a Spring @Transactional method
 * outbox.write(DataSourceUtils.getConnection(dataSource), event);
 * }</pre>
 */
public interface Outbox {

  /** A builder with the defaults: table {@code public.outbox}, rows kept, a JSR-310 mapper. */
  static Builder builder() {
    return new Builder();
  }

  /**
   * Inserts one event within the handle's open transaction.
   *
   * @return the event's id (UUIDv7), which is also its JetStream {@code Nats-Msg-Id}
   * @throws OutboxException when the handle is not in a transaction, or the insert fails
   */
  UUID write(Handle handle, OutboxEvent event);

  /**
   * Inserts events in one statement (one round trip) within the handle's open transaction. Ids
   * ascend in list order.
   *
   * @return the ids, in the order of the events
   * @throws OutboxException when the handle is not in a transaction, or the insert fails
   */
  List<UUID> writeAll(Handle handle, List<OutboxEvent> events);

  /**
   * Inserts one event on {@code connection}, within its open transaction (autocommit off): for
   * Spring ({@code DataSourceUtils.getConnection(dataSource)} inside {@code @Transactional}), jOOQ
   * ({@code ctx.connection(c -> ...)}), JPA ({@code session.doWork(c -> ...)}) or plain JDBC. The
   * connection is neither committed nor closed: that stays the caller's job.
   *
   * @return the event's id (UUIDv7), which is also its JetStream {@code Nats-Msg-Id}
   * @throws OutboxException when the connection is in autocommit mode, or the insert fails
   */
  UUID write(Connection connection, OutboxEvent event);

  /**
   * Inserts events in one statement on {@code connection}, within its open transaction (autocommit
   * off); see {@link #write(Connection, OutboxEvent)}. Ids ascend in list order.
   *
   * @return the ids, in the order of the events
   * @throws OutboxException when the connection is in autocommit mode, or the insert fails
   */
  List<UUID> writeAll(Connection connection, List<OutboxEvent> events);

  /**
   * Deletes rows created before {@code now - retention}, in transactions of at most {@code
   * batchSize} rows, so that the purge never holds long locks. Deleting a row never affects its
   * delivery: the relay reads the write-ahead log, not the table.
   *
   * @return how many rows were deleted
   */
  long purge(Jdbi jdbi, Duration retention, int batchSize);

  /** The table this outbox writes to. */
  TableName table();

  /** How events are written. */
  enum Mode {
    /** A row in the outbox table per event (the default): inspectable, republishable from SQL. */
    TABLE,
    /**
     * A transactional logical decoding message per {@code write} (one for all events of a {@code
     * writeAll}), {@code pg_logical_emit_message(true, prefix, envelope)}: no heap row, no index,
     * no vacuum, no purge; committed with the transaction and relayed in commit order like a row.
     * Nothing stays in a table to republish from.
     */
    WAL_MESSAGE
  }

  /** The default prefix of WAL messages, the one the relay listens to by default. */
  String DEFAULT_MESSAGE_PREFIX = "outboxkit-events";

  /** Settings for {@link Outbox}; validated by {@link #build()}. */
  final class Builder {
    TableName table = TableName.DEFAULT_OUTBOX;
    ObjectMapper objectMapper;
    boolean deleteAfterInsert;
    Mode mode = Mode.TABLE;
    String messagePrefix = DEFAULT_MESSAGE_PREFIX;
    OpenTelemetry openTelemetry;

    private Builder() {}

    /** The outbox table. Default {@code public.outbox}. */
    public Builder table(TableName table) {
      this.table = Objects.requireNonNull(table, "table");
      return this;
    }

    /**
     * The mapper that turns {@link Payload#json(Object)} values into JSON. Default: a plain mapper
     * with the Java time module, writing dates as ISO-8601 strings.
     */
    public Builder objectMapper(ObjectMapper objectMapper) {
      this.objectMapper = Objects.requireNonNull(objectMapper, "objectMapper");
      return this;
    }

    /**
     * Delete each row again in the same transaction right after inserting it. The write-ahead log
     * still carries the insert, so the relay publishes it, and the table stays empty without a
     * purge job. The price: the rows are not there to inspect or to replay from SQL. Default {@code
     * false} (rows are kept; purge them with {@link Outbox#purge}).
     */
    public Builder deleteAfterInsert(boolean deleteAfterInsert) {
      this.deleteAfterInsert = deleteAfterInsert;
      return this;
    }

    /**
     * Rows in the outbox table ({@link Mode#TABLE}, the default) or transactional WAL messages
     * ({@link Mode#WAL_MESSAGE}, see the README for when to choose which).
     */
    public Builder mode(Mode mode) {
      this.mode = Objects.requireNonNull(mode, "mode");
      return this;
    }

    /**
     * The logical message prefix in {@link Mode#WAL_MESSAGE}; must equal the relay's {@code
     * message-prefix}. Default {@value Outbox#DEFAULT_MESSAGE_PREFIX}.
     */
    public Builder messagePrefix(String prefix) {
      if (prefix == null || prefix.isBlank()) {
        throw new OutboxException("messagePrefix is empty: give the prefix the relay listens to");
      }
      this.messagePrefix = prefix;
      return this;
    }

    /**
     * Tracing: each written event carries the trace context of the span current at {@code write}
     * ({@code traceparent}, and {@code tracestate} or {@code baggage} when the instance's
     * propagators write them) in its {@code headers}, so the relay's publish span and the
     * consumer's process span join the writer's trace. An event that has a {@code traceparent}
     * header of its own keeps its headers as given. No span is started by the writer, and without a
     * current span nothing is added. Default: none (tracing off, nothing added, no cost).
     */
    public Builder openTelemetry(OpenTelemetry openTelemetry) {
      this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
      return this;
    }

    public Outbox build() {
      if (mode == Mode.WAL_MESSAGE && deleteAfterInsert) {
        throw new OutboxException(
            "deleteAfterInsert has no meaning in WAL_MESSAGE mode (no row is written): drop it");
      }
      return new JdbcOutbox(
          table,
          objectMapper == null ? Json.defaultMapper() : objectMapper,
          deleteAfterInsert,
          mode == Mode.WAL_MESSAGE ? messagePrefix : null,
          openTelemetry == null ? null : openTelemetry.getPropagators().getTextMapPropagator());
    }
  }
}
