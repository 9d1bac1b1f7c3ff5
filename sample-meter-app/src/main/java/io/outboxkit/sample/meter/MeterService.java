package io.outboxkit.sample.meter;

import io.micronaut.http.HttpStatus;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxEvent;
import jakarta.inject.Singleton;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The meter service's writes and reads. Every write is one transaction holding the business rows
 * and their outbox events; any refusal rolls the whole transaction back.
 */
@Singleton
final class MeterService {
  private static final Logger log = LoggerFactory.getLogger(MeterService.class);

  /** The period of a reading is the period of its interval's start: reading_at - 15 minutes. */
  private static final String INTERVAL_START = "(r.reading_at - interval '15 minutes')";

  private static final java.time.Duration INTERVAL = java.time.Duration.ofMinutes(15);

  private final Jdbi jdbi;
  private final Outbox outbox;
  private final Onboarding onboarding;

  MeterService(Jdbi jdbi, Outbox outbox, Onboarding onboarding) {
    this.jdbi = jdbi;
    this.outbox = outbox;
    this.onboarding = onboarding;
  }

  private record MeterRow(
      String meterId, String accountId, String feederId, String tariff, String status) {
    boolean sameAs(Requests.NewMeter m) {
      return meterId.equals(m.meterId())
          && accountId.equals(m.accountId())
          && feederId.equals(m.feederId())
          && tariff.equals(m.tariff());
    }

    @Override
    public String toString() {
      return "account " + accountId + ", feeder " + feederId + ", tariff " + tariff;
    }
  }

  /**
   * Registers a meter; a repeat with the same data is a no-op, with other data a 409. In saga mode
   * the meter is PENDING and its onboarding begins in the same transaction (billing's request in
   * the outbox); in direct mode it is ACTIVE at once and {@code MeterRegistered} is sent.
   */
  Views.Registered register(Requests.NewMeter m) {
    boolean saga = onboarding.sagaMode();
    return jdbi.inTransaction(
        h -> {
          Optional<Instant> registeredAt =
              h.createQuery(
                      "INSERT INTO meter (meter_id, account_id, feeder_id, tariff, status)"
                          + " VALUES (:meterId, :accountId, :feederId, :tariff, :status)"
                          + " ON CONFLICT (meter_id) DO NOTHING RETURNING registered_at")
                  .bind("meterId", m.meterId())
                  .bind("accountId", m.accountId())
                  .bind("feederId", m.feederId())
                  .bind("tariff", m.tariff())
                  .bind("status", saga ? Onboarding.PENDING : Onboarding.ACTIVE)
                  .mapTo(Instant.class)
                  .findOne();
          if (registeredAt.isEmpty()) {
            MeterRow existing = meters(h, Set.of(m.meterId())).get(m.meterId());
            if (existing.sameAs(m)) {
              return new Views.Registered(false, meter(h, m.meterId()).orElseThrow());
            }
            throw new InvalidRequest(
                HttpStatus.CONFLICT,
                List.of(
                    new InvalidRequest.FieldError(
                        "meterId",
                        "'"
                            + m.meterId()
                            + "' is registered already with other data ("
                            + existing
                            + ")")));
          }
          if (saga) {
            onboarding.begin(h, m, registeredAt.get());
          } else {
            outbox.write(
                h,
                OutboxEvent.of(
                    Events.AGGREGATE_TYPE,
                    m.meterId(),
                    Events.METER_REGISTERED,
                    new Events.MeterRegistered(
                        m.meterId(), m.accountId(), m.feederId(), m.tariff(), registeredAt.get())));
          }
          log.debug("registered meter {}{}", m.meterId(), saga ? ", onboarding" : "");
          return new Views.Registered(true, meter(h, m.meterId()).orElseThrow());
        });
  }

  /**
   * Records readings, all or none. Unknown meters are refused (400). A reading already stored for
   * the same meter and time is skipped when its kWh is the same (a retried request) and refused
   * (409) when it differs. Each new reading gets one {@code ReadingRecorded} event.
   */
  Views.Recorded record(List<Requests.NewReading> readings) {
    return jdbi.inTransaction(
        h -> {
          Set<String> ids = new LinkedHashSet<>();
          readings.forEach(r -> ids.add(r.meterId()));
          Map<String, MeterRow> meters = meters(h, ids);
          List<InvalidRequest.FieldError> unknown = new ArrayList<>();
          for (Requests.NewReading r : readings) {
            if (!meters.containsKey(r.meterId())) {
              unknown.add(
                  new InvalidRequest.FieldError(
                      r.field("meterId"),
                      "'" + r.meterId() + "' is not a registered meter: register it first"));
            }
          }
          if (!unknown.isEmpty()) {
            throw new InvalidRequest(HttpStatus.BAD_REQUEST, unknown);
          }
          List<InvalidRequest.FieldError> inactive = new ArrayList<>();
          for (Requests.NewReading r : readings) {
            MeterRow m = meters.get(r.meterId());
            if (!Onboarding.ACTIVE.equals(m.status())) {
              inactive.add(
                  new InvalidRequest.FieldError(
                      r.field("meterId"),
                      "'"
                          + r.meterId()
                          + "' is "
                          + m.status()
                          + ", not ACTIVE: "
                          + (Onboarding.PENDING.equals(m.status())
                              ? "its onboarding with billing is not finished; retry once it is"
                                  + " ACTIVE"
                              : "billing did not take it on; register it again under a new id")
                          + " (GET /meters/"
                          + r.meterId()
                          + "/onboarding)"));
            }
          }
          if (!inactive.isEmpty()) {
            throw new InvalidRequest(HttpStatus.CONFLICT, inactive);
          }

          Set<String> inserted = insertReadings(h, readings);
          List<Requests.NewReading> fresh = new ArrayList<>(inserted.size());
          List<Requests.NewReading> repeated = new ArrayList<>();
          for (Requests.NewReading r : readings) {
            (inserted.contains(key(r.meterId(), r.readingAt())) ? fresh : repeated).add(r);
          }
          if (!repeated.isEmpty()) {
            refuseChangedValues(h, repeated);
          }

          List<OutboxEvent> events = new ArrayList<>(fresh.size());
          for (Requests.NewReading r : fresh) {
            MeterRow m = meters.get(r.meterId());
            events.add(
                OutboxEvent.of(
                    Events.AGGREGATE_TYPE,
                    r.meterId(),
                    Events.READING_RECORDED,
                    new Events.ReadingRecorded(
                        m.meterId(),
                        m.accountId(),
                        m.feederId(),
                        m.tariff(),
                        r.readingAt().minus(Requests.INTERVAL),
                        r.readingAt(),
                        (int) Requests.INTERVAL.toMinutes(),
                        r.kwh())));
          }
          outbox.writeAll(h, events);
          log.debug("recorded {} readings, {} duplicates", fresh.size(), repeated.size());
          return new Views.Recorded(fresh.size(), repeated.size());
        });
  }

  private static String key(String meterId, Instant at) {
    return meterId + "@" + at;
  }

  private static Set<String> insertReadings(Handle h, List<Requests.NewReading> readings) {
    List<String> meterIds = new ArrayList<>(readings.size());
    List<String> times = new ArrayList<>(readings.size());
    List<String> kwhs = new ArrayList<>(readings.size());
    for (Requests.NewReading r : readings) {
      meterIds.add(r.meterId());
      times.add(r.readingAt().toString());
      kwhs.add(r.kwh().toPlainString());
    }
    Set<String> inserted = new java.util.HashSet<>();
    h.createQuery(
            "INSERT INTO reading (meter_id, reading_at, kwh)"
                + " SELECT * FROM unnest(:meterIds::text[], :times::timestamptz[], :kwhs::numeric[])"
                + " ON CONFLICT (meter_id, reading_at) DO NOTHING RETURNING meter_id, reading_at")
        .bindArray("meterIds", String.class, meterIds)
        .bindArray("times", String.class, times)
        .bindArray("kwhs", String.class, kwhs)
        .map(
            (rs, ctx) ->
                key(rs.getString(1), rs.getObject(2, java.time.OffsetDateTime.class).toInstant()))
        .forEach(inserted::add);
    return inserted;
  }

  private static void refuseChangedValues(Handle h, List<Requests.NewReading> repeated) {
    List<String> meterIds = new ArrayList<>();
    List<String> times = new ArrayList<>();
    for (Requests.NewReading r : repeated) {
      meterIds.add(r.meterId());
      times.add(r.readingAt().toString());
    }
    Map<String, BigDecimal> stored = new HashMap<>();
    h.createQuery(
            "SELECT r.meter_id, r.reading_at, r.kwh FROM reading r"
                + " JOIN unnest(:meterIds::text[], :times::timestamptz[]) AS k(meter_id, reading_at)"
                + " USING (meter_id, reading_at)")
        .bindArray("meterIds", String.class, meterIds)
        .bindArray("times", String.class, times)
        .map(
            (rs, ctx) ->
                Map.entry(
                    key(
                        rs.getString(1),
                        rs.getObject(2, java.time.OffsetDateTime.class).toInstant()),
                    rs.getBigDecimal(3)))
        .forEach(e -> stored.put(e.getKey(), e.getValue()));
    List<InvalidRequest.FieldError> conflicts = new ArrayList<>();
    for (Requests.NewReading r : repeated) {
      BigDecimal kwh = stored.get(key(r.meterId(), r.readingAt()));
      if (kwh == null || kwh.compareTo(r.kwh()) != 0) {
        conflicts.add(
            new InvalidRequest.FieldError(
                r.field("kwh"),
                "is "
                    + r.kwh().toPlainString()
                    + " but meter "
                    + r.meterId()
                    + " has a reading at "
                    + r.readingAt()
                    + " of "
                    + (kwh == null ? "another value" : kwh.toPlainString())
                    + " kWh already: readings are not corrected in place"));
      }
    }
    if (!conflicts.isEmpty()) {
      throw new InvalidRequest(HttpStatus.CONFLICT, conflicts);
    }
  }

  private static Map<String, MeterRow> meters(Handle h, Set<String> ids) {
    Map<String, MeterRow> meters = new HashMap<>();
    h.createQuery(
            "SELECT meter_id, account_id, feeder_id, tariff, status FROM meter"
                + " WHERE meter_id = ANY(:ids)")
        .bindArray("ids", String.class, ids)
        .map(
            (rs, ctx) ->
                new MeterRow(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    rs.getString(5)))
        .forEach(m -> meters.put(m.meterId(), m));
    return meters;
  }

  Optional<Views.Meter> meter(String meterId) {
    return jdbi.withHandle(h -> meter(h, meterId));
  }

  private static Optional<Views.Meter> meter(Handle h, String meterId) {
    return h.createQuery(
            "SELECT m.meter_id, m.account_id, m.feeder_id, m.tariff, m.registered_at,"
                + " (SELECT count(*) FROM reading r WHERE r.meter_id = m.meter_id),"
                + " (SELECT max(reading_at) FROM reading r WHERE r.meter_id = m.meter_id),"
                + " m.status, m.status_reason"
                + " FROM meter m WHERE m.meter_id = :id")
        .bind("id", meterId)
        .map(
            (rs, ctx) ->
                new Views.Meter(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    rs.getString(4),
                    instant(rs, 5),
                    rs.getLong(6),
                    instant(rs, 7),
                    rs.getString(8),
                    rs.getString(9)))
        .findOne();
  }

  List<Views.Reading> readings(String meterId, Instant from, Instant to, int limit) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT reading_at, kwh, recorded_at FROM reading"
                        + " WHERE meter_id = :id AND reading_at > :from AND reading_at <= :to"
                        + " ORDER BY reading_at LIMIT :limit")
                .bind("id", meterId)
                .bind("from", from)
                .bind("to", to)
                .bind("limit", limit)
                .map(
                    (rs, ctx) ->
                        new Views.Reading(instant(rs, 1), rs.getBigDecimal(2), instant(rs, 3)))
                .list());
  }

  /**
   * The readings whose interval starts in {@code [from, to)}, with their meter's account, feeder
   * and tariff, in (readingAt, meterId) order after {@code after}: the source of truth another
   * service reconciles its read models with.
   */
  Views.UsagePage usage(Instant from, Instant to, Views.Cursor after, int limit) {
    List<Views.Usage> list =
        jdbi.withHandle(
            h ->
                h.createQuery(
                        "SELECT r.meter_id, m.account_id, m.feeder_id, m.tariff, r.reading_at, r.kwh"
                            + " FROM reading r JOIN meter m USING (meter_id)"
                            + " WHERE r.reading_at >= :from AND r.reading_at < :to"
                            + " AND (r.reading_at, r.meter_id) > (:afterAt, :afterMeter)"
                            + " ORDER BY r.reading_at, r.meter_id LIMIT :limit")
                    .bind("from", from.plus(INTERVAL))
                    .bind("to", to.plus(INTERVAL))
                    .bind("afterAt", after == null ? Requests.OLDEST : after.readingAt())
                    .bind("afterMeter", after == null ? "" : after.meterId())
                    .bind("limit", limit)
                    .map(
                        (rs, ctx) -> {
                          Instant at = instant(rs, 5);
                          return new Views.Usage(
                              rs.getString(1),
                              rs.getString(2),
                              rs.getString(3),
                              rs.getString(4),
                              at.minus(INTERVAL),
                              at,
                              rs.getBigDecimal(6));
                        })
                    .list());
    Views.Usage last = list.size() == limit ? list.get(list.size() - 1) : null;
    return new Views.UsagePage(
        list, last == null ? null : new Views.Cursor(last.readingAt(), last.meterId()));
  }

  /** Totals per {@code unit} (day or month) of the interval start, in {@code zone}. */
  List<Views.PeriodTotal> totals(String meterId, String unit, ZoneId zone) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT date_trunc(:unit, "
                        + INTERVAL_START
                        + " AT TIME ZONE :zone) AS p, sum(r.kwh), count(*)"
                        + " FROM reading r WHERE r.meter_id = :id GROUP BY p ORDER BY p")
                .bind("unit", unit)
                .bind("zone", zone.getId())
                .bind("id", meterId)
                .map(
                    (rs, ctx) ->
                        new Views.PeriodTotal(
                            rs.getObject(1, LocalDateTime.class).toLocalDate(),
                            rs.getBigDecimal(2),
                            rs.getLong(3)))
                .list());
  }

  /** Everything the convergence check compares, read in one repeatable-read snapshot. */
  Views.Totals totals(ZoneId zone) {
    return jdbi.inTransaction(
        org.jdbi.v3.core.transaction.TransactionIsolationLevel.REPEATABLE_READ,
        h -> {
          long meters = h.createQuery("SELECT count(*) FROM meter").mapTo(Long.class).one();
          Map<String, Object> all =
              h.createQuery("SELECT count(*) AS n, coalesce(sum(kwh), 0) AS kwh FROM reading")
                  .mapToMap()
                  .one();
          // The meter events (outbox.meter.*), what the stream's meter subjects are checked
          // against;
          // the onboarding saga's requests go to outbox.onboarding.*.
          long outboxRows =
              h.createQuery("SELECT count(*) FROM outbox WHERE aggregate_type = :type")
                  .bind("type", Events.AGGREGATE_TYPE)
                  .mapTo(Long.class)
                  .one();
          List<Views.AccountMonth> accounts =
              h.createQuery(
                      "SELECT m.account_id, date_trunc('month', "
                          + INTERVAL_START
                          + " AT TIME ZONE :zone) AS p, sum(r.kwh), count(*)"
                          + " FROM reading r JOIN meter m USING (meter_id)"
                          + " GROUP BY m.account_id, p ORDER BY m.account_id, p")
                  .bind("zone", zone.getId())
                  .map(
                      (rs, ctx) ->
                          new Views.AccountMonth(
                              rs.getString(1),
                              rs.getObject(2, LocalDateTime.class).toLocalDate(),
                              rs.getBigDecimal(3),
                              rs.getLong(4)))
                  .list();
          List<Views.FeederInterval> feeders =
              h.createQuery(
                      "SELECT m.feeder_id, "
                          + INTERVAL_START
                          + " AS s, sum(r.kwh), count(*)"
                          + " FROM reading r JOIN meter m USING (meter_id)"
                          + " GROUP BY m.feeder_id, s ORDER BY m.feeder_id, s")
                  .map(
                      (rs, ctx) ->
                          new Views.FeederInterval(
                              rs.getString(1), instant(rs, 2), rs.getBigDecimal(3), rs.getLong(4)))
                  .list();
          return new Views.Totals(
              zone.getId(),
              meters,
              ((Number) all.get("n")).longValue(),
              (BigDecimal) all.get("kwh"),
              outboxRows,
              accounts,
              feeders);
        });
  }

  private static Instant instant(java.sql.ResultSet rs, int column) throws java.sql.SQLException {
    java.time.OffsetDateTime t = rs.getObject(column, java.time.OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }
}
