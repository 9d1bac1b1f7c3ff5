package io.outboxkit.sample.billing;

import io.micronaut.serde.annotation.Serdeable;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxEvent;
import io.outboxkit.consumer.EventHandler;
import io.outboxkit.consumer.InboundEvent;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Billing's side of meter onboarding (the saga the meter service runs). On {@code
 * MeterRegistrationRequested} it decides, once per meter, and answers through its own outbox in the
 * same transaction as the decision:
 *
 * <ul>
 *   <li>UNKNOWN_TARIFF: the tariff is not in billing's {@code tariff} table, so its readings could
 *       never be priced → {@code MeterRegistrationRejected};
 *   <li>FEEDER_AT_CAPACITY: the feeder has {@code billing.onboarding.feeder-capacity} OPEN accounts
 *       already (decisions on one feeder are serialized by a transaction lock) → rejected;
 *   <li>otherwise an account is opened for the meter → {@code AccountOpened}.
 * </ul>
 *
 * <p>A request seen before (redelivered, republished) changes nothing and sends nothing: the first
 * decision's answer is already in the outbox, committed with it. On {@code
 * MeterRegistrationCancelled} (the meter service gave up on the meter before the answer arrived) an
 * OPEN account is CLOSED; a cancellation of anything else changes nothing.
 */
@Singleton
final class Onboarding implements EventHandler {
  static final String CONSUMER = "onboarding";
  private static final Logger log = LoggerFactory.getLogger(Onboarding.class);

  /** Billing's decision on one meter. */
  @Serdeable
  record Decision(
      String meterId,
      String accountId,
      String feederId,
      String tariff,
      String status,
      String reason,
      Instant decidedAt,
      Instant closedAt) {}

  /** Decisions per status (OPEN, REJECTED, CLOSED) and rejections per reason. */
  @Serdeable
  record Summary(Map<String, Long> statuses, Map<String, Long> rejections) {}

  private final Tariffs tariffs;
  private final Outbox outbox;
  private final OnboardingSettings settings;
  private final Jdbi jdbi;

  Onboarding(Tariffs tariffs, Outbox outbox, OnboardingSettings settings, Jdbi jdbi) {
    this.tariffs = tariffs;
    this.outbox = outbox;
    this.settings = settings;
    this.jdbi = jdbi;
  }

  @Override
  public void handle(Handle h, InboundEvent event) {
    String type = String.valueOf(event.eventType());
    switch (type) {
      case Events.REGISTRATION_REQUESTED ->
          requested(h, event.payloadAs(Events.MeterRegistrationRequested.class));
      case Events.REGISTRATION_CANCELLED ->
          cancelled(h, event.payloadAs(Events.MeterRegistrationCancelled.class));
      default -> log.debug("onboarding ignores {} {}", type, event.id());
    }
  }

  private void requested(Handle h, Events.MeterRegistrationRequested r) {
    if (r.meterId() == null
        || r.accountId() == null
        || r.feederId() == null
        || r.tariff() == null) {
      throw new IllegalArgumentException(
          "MeterRegistrationRequested lacks meterId, accountId, feederId or tariff");
    }
    // One decision at a time per feeder: the capacity count below stays true until the commit.
    h.execute("SELECT pg_advisory_xact_lock(hashtext(?))", "onboarding-feeder:" + r.feederId());
    if (h.createQuery("SELECT 1 FROM meter_account WHERE meter_id = ?")
        .bind(0, r.meterId())
        .mapTo(Integer.class)
        .findOne()
        .isPresent()) {
      log.debug("onboarding: {} was decided before; nothing to do", r.meterId());
      return;
    }
    String reason = null;
    String detail = null;
    if (!tariffs.all().containsKey(r.tariff())) {
      reason = "UNKNOWN_TARIFF";
      detail = "billing has no tariff '" + r.tariff() + "' (known: " + tariffs.all().keySet() + ")";
    } else {
      long open =
          h.createQuery(
                  "SELECT count(*) FROM meter_account WHERE feeder_id = ? AND status = 'OPEN'")
              .bind(0, r.feederId())
              .mapTo(Long.class)
              .one();
      if (open >= settings.feederCapacity()) {
        reason = "FEEDER_AT_CAPACITY";
        detail =
            "feeder "
                + r.feederId()
                + " has "
                + open
                + " meters, its capacity is "
                + settings.feederCapacity();
      }
    }
    Instant now = Instant.now();
    h.createUpdate(
            "INSERT INTO meter_account (meter_id, account_id, feeder_id, tariff, status, reason,"
                + " decided_at) VALUES (:meter, :account, :feeder, :tariff, :status, :reason, :at)")
        .bind("meter", r.meterId())
        .bind("account", r.accountId())
        .bind("feeder", r.feederId())
        .bind("tariff", r.tariff())
        .bind("status", reason == null ? "OPEN" : "REJECTED")
        .bind("reason", reason == null ? null : reason + ": " + detail)
        .bind("at", now)
        .execute();
    Object answer =
        reason == null
            ? new Events.AccountOpened(r.meterId(), r.accountId(), r.feederId(), now)
            : new Events.MeterRegistrationRejected(r.meterId(), r.accountId(), reason, detail, now);
    outbox.write(
        h,
        OutboxEvent.of(
            Events.ONBOARDING,
            r.meterId(),
            reason == null ? Events.ACCOUNT_OPENED : Events.REGISTRATION_REJECTED,
            answer));
    log.debug("onboarding: {} {}", r.meterId(), reason == null ? "accepted" : reason);
  }

  private static void cancelled(Handle h, Events.MeterRegistrationCancelled c) {
    int closed =
        h.createUpdate(
                "UPDATE meter_account SET status = 'CLOSED', closed_at = now(),"
                    + " reason = :reason WHERE meter_id = :meter AND status = 'OPEN'")
            .bind("meter", c.meterId())
            .bind("reason", "cancelled by the meter service: " + c.reason())
            .execute();
    log.debug("onboarding: cancellation of {} closed {} account", c.meterId(), closed);
  }

  Optional<Decision> decision(String meterId) {
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT meter_id, account_id, feeder_id, tariff, status, reason, decided_at,"
                        + " closed_at FROM meter_account WHERE meter_id = ?")
                .bind(0, meterId)
                .map(
                    (rs, ctx) ->
                        new Decision(
                            rs.getString(1),
                            rs.getString(2),
                            rs.getString(3),
                            rs.getString(4),
                            rs.getString(5),
                            rs.getString(6),
                            instant(rs, 7),
                            instant(rs, 8)))
                .findOne());
  }

  Summary summary() {
    return jdbi.withHandle(
        h -> {
          Map<String, Long> statuses = new TreeMap<>();
          h.createQuery("SELECT status, count(*) FROM meter_account GROUP BY status")
              .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
              .forEach(e -> statuses.put(e.getKey(), e.getValue()));
          Map<String, Long> rejections = new TreeMap<>();
          h.createQuery(
                  "SELECT split_part(reason, ':', 1), count(*) FROM meter_account"
                      + " WHERE status = 'REJECTED' GROUP BY 1")
              .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getLong(2)))
              .forEach(e -> rejections.put(e.getKey(), e.getValue()));
          return new Summary(statuses, rejections);
        });
  }

  private static Instant instant(java.sql.ResultSet rs, int column) throws java.sql.SQLException {
    java.time.OffsetDateTime t = rs.getObject(column, java.time.OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }
}
