package io.outboxkit.sample.billing;

import io.micronaut.serde.annotation.Serdeable;
import jakarta.inject.Singleton;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.transaction.TransactionIsolationLevel;

/** Queries over the two read models; they never read the meter service's database. */
@Singleton
final class ReadModels {

  /** An account's energy in a month, as the billing read model holds it. */
  @Serdeable
  record AccountMonth(String accountId, LocalDate period, BigDecimal kwh, long readings) {}

  /** A feeder's energy in one 15-minute interval, as the grid-load read model holds it. */
  @Serdeable
  record FeederInterval(String feederId, Instant intervalStart, BigDecimal kwh, long readings) {}

  /** The intervals a feeder has data for. */
  @Serdeable
  record Feeder(String feederId, long intervals, Instant firstInterval, Instant lastInterval) {}

  /**
   * Everything the convergence check compares, read in one snapshot.
   *
   * @param zone the zone of the billing months (all tariffs share it), null when they differ
   */
  @Serdeable
  record Summary(
      String zone,
      long billedReadings,
      BigDecimal billedKwh,
      List<AccountMonth> accounts,
      long loadReadings,
      BigDecimal loadKwh,
      List<FeederInterval> feeders,
      List<Progress.Freshness> consumers,
      Consumers.StreamCounts stream) {}

  /** Locks every read-model table for a read that spans several statements, in swap order. */
  static final String LOCK_ALL =
      "LOCK TABLE bill_usage, billing_meter, feeder_load IN ACCESS SHARE MODE";

  private final Jdbi jdbi;
  private final Tariffs tariffs;

  ReadModels(Jdbi jdbi, Tariffs tariffs) {
    this.jdbi = jdbi;
    this.tariffs = tariffs;
  }

  /** The bill, or empty when the account has neither meters nor usage here. */
  Optional<Bill> bill(String accountId, YearMonth period) {
    return jdbi.withHandle(
        h -> {
          List<Bill.Usage> usages =
              h.createQuery(
                      "SELECT meter_id, tariff, kwh_peak, kwh_off_peak, readings_peak,"
                          + " readings_off_peak FROM bill_usage"
                          + " WHERE account_id = :account AND period = :period")
                  .bind("account", accountId)
                  .bind("period", period.atDay(1))
                  .map(
                      (rs, ctx) ->
                          new Bill.Usage(
                              rs.getString(1),
                              rs.getString(2),
                              rs.getBigDecimal(3),
                              rs.getBigDecimal(4),
                              rs.getLong(5),
                              rs.getLong(6)))
                  .list();
          if (usages.isEmpty()
              && h.createQuery("SELECT count(*) FROM billing_meter WHERE account_id = :a")
                      .bind("a", accountId)
                      .mapTo(Long.class)
                      .one()
                  == 0) {
            return Optional.empty();
          }
          return Optional.of(Bill.of(accountId, period, usages, tariffs.all()));
        });
  }

  /** The feeder's intervals in {@code [from, to)}, or its latest {@code latest} ones. */
  List<LoadCurve.Interval> load(String feederId, Instant from, Instant to, int latest) {
    return jdbi.withHandle(
        h -> {
          String where = "feeder_id = :feeder";
          if (from != null) {
            where += " AND interval_start >= :from";
          }
          if (to != null) {
            where += " AND interval_start < :to";
          }
          var q =
              h.createQuery(
                      "SELECT interval_start, kwh, readings FROM feeder_load WHERE "
                          + where
                          + " ORDER BY interval_start DESC LIMIT :limit")
                  .bind("feeder", feederId)
                  .bind("limit", latest);
          if (from != null) {
            q.bind("from", from.atOffset(ZoneOffset.UTC));
          }
          if (to != null) {
            q.bind("to", to.atOffset(ZoneOffset.UTC));
          }
          return q.map(
                  (rs, ctx) ->
                      new LoadCurve.Interval(
                          rs.getObject(1, OffsetDateTime.class).toInstant(),
                          rs.getBigDecimal(2),
                          rs.getLong(3)))
              .list();
        });
  }

  List<Feeder> feeders() {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT feeder_id, count(*), min(interval_start), max(interval_start)"
                        + " FROM feeder_load GROUP BY feeder_id ORDER BY feeder_id")
                .map(
                    (rs, ctx) ->
                        new Feeder(
                            rs.getString(1),
                            rs.getLong(2),
                            rs.getObject(3, OffsetDateTime.class).toInstant(),
                            rs.getObject(4, OffsetDateTime.class).toInstant()))
                .list());
  }

  List<Progress.Freshness> freshness(Handle h, Progress progress, Consumers consumers) {
    List<Progress.Freshness> list = new ArrayList<>();
    for (String name : consumers.names()) {
      boolean running = consumers.isRunning(name);
      Long pending = consumers.pending(name);
      list.add(
          progress
              .read(h, name, running, pending)
              .orElse(new Progress.Freshness(name, running, 0, null, null, null, pending)));
    }
    return list;
  }

  Progress.Freshness freshness(String consumer, Progress progress, Consumers consumers) {
    boolean running = consumers.isRunning(consumer);
    Long pending = consumers.pending(consumer);
    return jdbi.withHandle(
        h ->
            progress
                .read(h, consumer, running, pending)
                .orElse(new Progress.Freshness(consumer, running, 0, null, null, null, pending)));
  }

  Summary summary(Progress progress, Consumers consumers) {
    Consumers.StreamCounts stream = consumers.stream();
    return jdbi.inTransaction(
        TransactionIsolationLevel.REPEATABLE_READ,
        h -> {
          // Before the snapshot: a rebuild's swap (Rebuilds) either committed before it or waits
          // for this transaction, so the snapshot never meets a half-built table. The order is
          // each model's table order, so that a swap and this cannot wait on each other.
          h.execute(LOCK_ALL);
          List<AccountMonth> accounts =
              h.createQuery(
                      "SELECT account_id, period, sum(kwh_peak + kwh_off_peak),"
                          + " sum(readings_peak + readings_off_peak) FROM bill_usage"
                          + " GROUP BY account_id, period ORDER BY account_id, period")
                  .map(
                      (rs, ctx) ->
                          new AccountMonth(
                              rs.getString(1),
                              rs.getObject(2, LocalDate.class),
                              rs.getBigDecimal(3),
                              rs.getLong(4)))
                  .list();
          List<FeederInterval> feeders =
              h.createQuery(
                      "SELECT feeder_id, interval_start, kwh, readings FROM feeder_load"
                          + " ORDER BY feeder_id, interval_start")
                  .map(
                      (rs, ctx) ->
                          new FeederInterval(
                              rs.getString(1),
                              rs.getObject(2, OffsetDateTime.class).toInstant(),
                              rs.getBigDecimal(3),
                              rs.getLong(4)))
                  .list();
          return new Summary(
              tariffs.commonZone(),
              accounts.stream().mapToLong(AccountMonth::readings).sum(),
              accounts.stream().map(AccountMonth::kwh).reduce(BigDecimal.ZERO, BigDecimal::add),
              accounts,
              feeders.stream().mapToLong(FeederInterval::readings).sum(),
              feeders.stream().map(FeederInterval::kwh).reduce(BigDecimal.ZERO, BigDecimal::add),
              feeders,
              freshness(h, progress, consumers),
              stream);
        });
  }
}
