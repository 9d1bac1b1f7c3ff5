package io.outboxkit.sample.billing;

import io.micronaut.serde.annotation.Serdeable;
import io.outboxkit.consumer.InboundEvent;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/**
 * How fresh each read model is. Every applied event updates its consumer's row in the same
 * transaction as its effect, so the row never claims more than the read model holds.
 */
@Singleton
final class Progress {

  /**
   * Freshness of one read model.
   *
   * @param consumer the durable consumer that feeds it
   * @param running whether the consumer is running in this process
   * @param events events applied so far
   * @param asOf the commit time (in the meter database) of the newest event applied: the read model
   *     reflects every write committed up to about then
   * @param lastAppliedAt when the last event was applied
   * @param lastLagMs commit-to-applied time of the last event applied, in milliseconds
   * @param pending events in the stream this consumer has not acknowledged yet (from JetStream);
   *     null when unknown. 0 means the read model is up to date with everything relayed.
   */
  @Serdeable
  record Freshness(
      String consumer,
      boolean running,
      long events,
      Instant asOf,
      Instant lastAppliedAt,
      Long lastLagMs,
      Long pending) {}

  /** Records one applied event of {@code consumer}, inside the handler's transaction. */
  void applied(Handle h, String consumer, InboundEvent event) {
    Instant committed =
        event.metadata().committedAt() != null
            ? event.metadata().committedAt()
            : event.metadata().publishedAt();
    h.createUpdate(
            "INSERT INTO projection_progress AS p"
                + " (consumer, events, last_event_id, last_committed_at, last_applied_at, last_lag_ms)"
                + " VALUES (:consumer, 1, :id, :committed::timestamptz, clock_timestamp(),"
                + "  (extract(epoch FROM clock_timestamp() - :committed::timestamptz) * 1000)::bigint)"
                + " ON CONFLICT (consumer) DO UPDATE SET"
                + "  events = p.events + 1,"
                + "  last_event_id = excluded.last_event_id,"
                + "  last_committed_at = greatest(p.last_committed_at, excluded.last_committed_at),"
                + "  last_applied_at = excluded.last_applied_at,"
                + "  last_lag_ms = excluded.last_lag_ms")
        .bind("consumer", consumer)
        .bind("id", event.id())
        .bind("committed", committed == null ? null : committed.atOffset(java.time.ZoneOffset.UTC))
        .execute();
  }

  /** The stored part of the freshness of {@code consumer}. */
  Optional<Freshness> read(Handle h, String consumer, boolean running, Long pending) {
    return h.createQuery(
            "SELECT events, last_committed_at, last_applied_at, last_lag_ms"
                + " FROM projection_progress WHERE consumer = :consumer")
        .bind("consumer", consumer)
        .map(
            (rs, ctx) ->
                new Freshness(
                    consumer,
                    running,
                    rs.getLong(1),
                    instant(rs.getObject(2, OffsetDateTime.class)),
                    instant(rs.getObject(3, OffsetDateTime.class)),
                    (Long) rs.getObject(4),
                    pending))
        .findOne();
  }

  private static Instant instant(OffsetDateTime t) {
    return t == null ? null : t.toInstant();
  }
}
