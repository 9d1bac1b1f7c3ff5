package io.outboxkit.patterns.saga;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.outboxkit.OutboxException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jdbi.v3.core.Handle;

/** The saga tables: the saga rows (with their deadline) and their steps. */
final class SagaStore {
  private static final String COLUMNS =
      "saga_id, state, data::text, deadline_at, version, created_at, updated_at";

  /** A saga row as locked by a step. */
  record Row(
      String id,
      String state,
      String data,
      Instant deadline,
      int version,
      Instant createdAt,
      Instant updatedAt) {}

  /** Saga data as JSON: Java time as ISO-8601 text, unknown properties ignored on reading. */
  static final ObjectMapper JSON =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final String saga;
  private final String steps;
  private final String type;

  SagaStore(String schema, String type) {
    this.saga = schema + ".saga";
    this.steps = schema + ".saga_step";
    this.type = type;
  }

  static String json(Object data) {
    if (data == null) {
      return "{}";
    }
    try {
      return JSON.writeValueAsString(data);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new OutboxException(
          "saga data of type "
              + data.getClass().getName()
              + " cannot be written as JSON: "
              + e.getMessage(),
          e);
    }
  }

  boolean insert(Handle h, String id, String state, String data, Duration timeout) {
    return h.createUpdate(
                "INSERT INTO "
                    + saga
                    + " (saga_type, saga_id, state, data, deadline_at, version, created_at,"
                    + " updated_at) VALUES (:type, :id, :state, :data::jsonb,"
                    + " now() + :ms::bigint * interval '1 millisecond', 1, now(), now())"
                    + " ON CONFLICT (saga_type, saga_id) DO NOTHING")
            .bind("type", type)
            .bind("id", id)
            .bind("state", state)
            .bind("data", data)
            .bind("ms", timeout == null ? null : timeout.toMillis())
            .execute()
        == 1;
  }

  /** Locks saga {@code id}'s row for the step; empty when there is no such saga. */
  Optional<Row> lock(Handle h, String id) {
    return h.createQuery(
            "SELECT "
                + COLUMNS
                + " FROM "
                + saga
                + " WHERE saga_type = :type AND saga_id = :id FOR UPDATE")
        .bind("type", type)
        .bind("id", id)
        .map((rs, ctx) -> row(rs))
        .findOne();
  }

  /** Locks one saga whose deadline passed, skipping rows other steps hold and {@code skip}. */
  Optional<Row> lockDue(Handle h, List<String> skip) {
    return h.createQuery(
            "SELECT "
                + COLUMNS
                + " FROM "
                + saga
                + " WHERE saga_type = :type AND deadline_at <= clock_timestamp()"
                + " AND NOT (saga_id = ANY(:skip))"
                + " ORDER BY deadline_at LIMIT 1 FOR UPDATE SKIP LOCKED")
        .bind("type", type)
        .bindArray("skip", String.class, skip)
        .map((rs, ctx) -> row(rs))
        .findOne();
  }

  /** Records a step; false when a reply of this type was taken before (nothing inserted). */
  boolean insertStep(
      Handle h,
      String id,
      int seq,
      SagaState.Kind kind,
      String name,
      String eventId,
      String from,
      String to,
      SagaState.Outcome outcome) {
    return h.createUpdate(
                "INSERT INTO "
                    + steps
                    + " (saga_type, saga_id, seq, kind, name, event_id, from_state, to_state,"
                    + " outcome, at) VALUES (:type, :id, :seq, :kind, :name, :eventId, :from, :to,"
                    + " :outcome, clock_timestamp()) ON CONFLICT DO NOTHING")
            .bind("type", type)
            .bind("id", id)
            .bind("seq", seq)
            .bind("kind", kind.name())
            .bind("name", name)
            .bind("eventId", eventId)
            .bind("from", from)
            .bind("to", to)
            .bind("outcome", outcome.name())
            .execute()
        == 1;
  }

  /** Writes what the step decided into its step row and the saga row. */
  void finishStep(Handle h, Row row, int seq, StepContext ctx, SagaState.Outcome outcome) {
    h.createUpdate(
            "UPDATE "
                + steps
                + " SET to_state = :to, outcome = :outcome, note = :note"
                + " WHERE saga_type = :type AND saga_id = :id AND seq = :seq")
        .bind("to", ctx.nextState())
        .bind("outcome", outcome.name())
        .bind("note", ctx.note())
        .bind("type", type)
        .bind("id", row.id())
        .bind("seq", seq)
        .execute();
    Duration timeout = ctx.nextTimeout();
    h.createUpdate(
            "UPDATE "
                + saga
                + " SET state = :state, data = :data::jsonb, version = :seq, updated_at = now(),"
                + " deadline_at = CASE WHEN :change::boolean THEN now() + :ms::bigint * interval '1 millisecond'"
                + " ELSE deadline_at END"
                + " WHERE saga_type = :type AND saga_id = :id")
        .bind("state", ctx.nextState())
        .bind("data", ctx.nextData())
        .bind("seq", seq)
        .bind("change", ctx.deadlineChanges())
        .bind("ms", timeout == null ? null : timeout.toMillis())
        .bind("type", type)
        .bind("id", row.id())
        .execute();
  }

  Optional<SagaState> find(Handle h, String id, boolean withSteps) {
    Optional<Row> row =
        h.createQuery(
                "SELECT "
                    + COLUMNS
                    + " FROM "
                    + saga
                    + " WHERE saga_type = :type AND saga_id = :id")
            .bind("type", type)
            .bind("id", id)
            .map((rs, ctx) -> row(rs))
            .findOne();
    return row.map(
        r ->
            new SagaState(
                type,
                r.id(),
                r.state(),
                r.data(),
                r.deadline(),
                r.version(),
                r.createdAt(),
                r.updatedAt(),
                withSteps ? steps(h, id) : List.of()));
  }

  private List<SagaState.Step> steps(Handle h, String id) {
    return h.createQuery(
            "SELECT seq, kind, name, event_id, from_state, to_state, outcome, note, at FROM "
                + steps
                + " WHERE saga_type = :type AND saga_id = :id ORDER BY seq")
        .bind("type", type)
        .bind("id", id)
        .map(
            (rs, ctx) ->
                new SagaState.Step(
                    rs.getInt(1),
                    SagaState.Kind.valueOf(rs.getString(2)),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getString(5),
                    rs.getString(6),
                    SagaState.Outcome.valueOf(rs.getString(7)),
                    rs.getString(8),
                    instant(rs, 9)))
        .list();
  }

  Map<String, Long> countByState(Handle h) {
    Map<String, Long> counts = new TreeMap<>();
    h.createQuery("SELECT state, count(*) FROM " + saga + " WHERE saga_type = :type GROUP BY state")
        .bind("type", type)
        .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
        .forEach(e -> counts.put(e.getKey(), e.getValue()));
    return counts;
  }

  Map<String, Long> lateReplies(Handle h) {
    Map<String, Long> counts = new TreeMap<>();
    h.createQuery(
            "SELECT name, count(*) FROM "
                + steps
                + " WHERE saga_type = :type AND outcome = 'LATE' GROUP BY name")
        .bind("type", type)
        .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
        .forEach(e -> counts.put(e.getKey(), e.getValue()));
    return counts;
  }

  private static Row row(ResultSet rs) throws SQLException {
    return new Row(
        rs.getString(1),
        rs.getString(2),
        rs.getString(3),
        instant(rs, 4),
        rs.getInt(5),
        instant(rs, 6),
        instant(rs, 7));
  }

  private static Instant instant(ResultSet rs, int column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }
}
