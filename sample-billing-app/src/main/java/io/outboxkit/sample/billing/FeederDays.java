package io.outboxkit.sample.billing;

import io.micronaut.scheduling.annotation.Scheduled;
import io.micronaut.serde.annotation.Serdeable;
import jakarta.inject.Singleton;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daily feeder summary (periodic aggregation): on a schedule, for every closed UTC day of the
 * look-back, the energy, reading count and peak of each feeder, built from the grid-load read model
 * in one transaction. Rows that did not change are not written; days left without load are removed.
 * One instance at a time builds (a transaction-scoped advisory lock; the others skip).
 */
@Singleton
final class FeederDays {
  private static final Logger log = LoggerFactory.getLogger(FeederDays.class);

  /** One feeder's day. */
  @Serdeable
  record Day(
      String feederId,
      LocalDate day,
      BigDecimal kwh,
      long readings,
      int intervals,
      BigDecimal peakKw,
      Instant peakIntervalStart,
      Instant builtAt) {}

  /** What one build did; {@code skipped} when another instance was building. */
  @Serdeable
  record Build(LocalDate from, LocalDate to, int written, int removed, boolean skipped) {}

  private final Jdbi jdbi;
  private final ReconcileSettings settings;
  private final Clock clock = Clock.systemUTC();

  FeederDays(Jdbi jdbi, ReconcileSettings settings) {
    this.jdbi = jdbi;
    this.settings = settings;
  }

  @Scheduled(
      fixedDelay = "${billing.reconcile.interval:10m}",
      initialDelay = "${billing.reconcile.interval:10m}")
  void scheduled() {
    if (settings.enabled()) {
      try {
        build();
      } catch (RuntimeException e) {
        log.warn("feeder day summary not built: {}", io.outboxkit.OutboxException.describe(e));
      }
    }
  }

  /** Builds the closed days in the look-back now. */
  Build build() {
    Instant now = clock.instant();
    LocalDate to = now.minus(settings.settle()).atOffset(ZoneOffset.UTC).toLocalDate(); // open
    LocalDate from =
        now.minus(settings.lookback())
            .truncatedTo(ChronoUnit.DAYS)
            .atOffset(ZoneOffset.UTC)
            .toLocalDate();
    return jdbi.inTransaction(
        h -> {
          boolean locked =
              h.createQuery("SELECT pg_try_advisory_xact_lock(hashtext('billing.feeder_day'))")
                  .mapTo(Boolean.class)
                  .one();
          if (!locked) {
            return new Build(from, to, 0, 0, true);
          }
          int written =
              h.createUpdate(
                      "INSERT INTO feeder_day AS d (feeder_id, day, kwh, readings, intervals,"
                          + " peak_kw, peak_interval_start, built_at)"
                          + " SELECT feeder_id, (interval_start AT TIME ZONE 'UTC')::date,"
                          + "  sum(kwh), sum(readings), count(*), max(kwh) * 4,"
                          + "  (array_agg(interval_start ORDER BY kwh DESC, interval_start))[1],"
                          + "  now()"
                          + " FROM feeder_load WHERE interval_start >= :from AND interval_start < :to"
                          + " GROUP BY 1, 2"
                          + " ON CONFLICT (feeder_id, day) DO UPDATE SET kwh = excluded.kwh,"
                          + "  readings = excluded.readings, intervals = excluded.intervals,"
                          + "  peak_kw = excluded.peak_kw,"
                          + "  peak_interval_start = excluded.peak_interval_start,"
                          + "  built_at = excluded.built_at"
                          + " WHERE (d.kwh, d.readings, d.intervals, d.peak_kw, d.peak_interval_start)"
                          + "  IS DISTINCT FROM (excluded.kwh, excluded.readings, excluded.intervals,"
                          + "  excluded.peak_kw, excluded.peak_interval_start)")
                  .bind("from", from.atStartOfDay().atOffset(ZoneOffset.UTC))
                  .bind("to", to.atStartOfDay().atOffset(ZoneOffset.UTC))
                  .execute();
          int removed =
              h.createUpdate(
                      "DELETE FROM feeder_day d WHERE d.day >= :from AND d.day < :to AND NOT EXISTS"
                          + " (SELECT 1 FROM feeder_load l WHERE l.feeder_id = d.feeder_id"
                          + "  AND l.interval_start >= d.day::timestamp AT TIME ZONE 'UTC'"
                          + "  AND l.interval_start < (d.day + 1)::timestamp AT TIME ZONE 'UTC')")
                  .bind("from", from)
                  .bind("to", to)
                  .execute();
          return new Build(from, to, written, removed, false);
        });
  }

  /** A feeder's daily summaries, oldest first. */
  List<Day> days(String feederId) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT feeder_id, day, kwh, readings, intervals, peak_kw,"
                        + " peak_interval_start, built_at FROM feeder_day WHERE feeder_id = :f"
                        + " ORDER BY day")
                .bind("f", feederId)
                .map(
                    (rs, ctx) ->
                        new Day(
                            rs.getString(1),
                            rs.getObject(2, LocalDate.class),
                            rs.getBigDecimal(3),
                            rs.getLong(4),
                            rs.getInt(5),
                            rs.getBigDecimal(6),
                            rs.getObject(7, OffsetDateTime.class).toInstant(),
                            rs.getObject(8, OffsetDateTime.class).toInstant()))
                .list());
  }
}
