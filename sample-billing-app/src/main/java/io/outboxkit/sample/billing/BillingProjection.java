package io.outboxkit.sample.billing;

import io.outboxkit.consumer.EventHandler;
import io.outboxkit.consumer.InboundEvent;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.time.YearMonth;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The billing read model: the meters of each account (from {@code MeterRegistered}) and their
 * energy per month, tariff and band (from {@code ReadingRecorded}). Each event adds to a sum, which
 * is correct only because the consumer applies each event exactly once: its inbox row commits in
 * this same transaction. It writes only its tables ({@code billing_meter}, {@code bill_usage}), by
 * unqualified names, so that a rebuild ({@link Rebuilds}) can apply it to shadow copies.
 */
@Singleton
final class BillingProjection implements EventHandler {
  static final String CONSUMER = "billing";
  private static final Logger log = LoggerFactory.getLogger(BillingProjection.class);

  private final Tariffs tariffs;

  BillingProjection(Tariffs tariffs) {
    this.tariffs = tariffs;
  }

  @Override
  public void handle(Handle h, InboundEvent event) {
    String type = String.valueOf(event.eventType());
    switch (type) {
      case Events.METER_REGISTERED ->
          meterRegistered(h, event.payloadAs(Events.MeterRegistered.class));
      case Events.READING_RECORDED ->
          readingRecorded(h, event.payloadAs(Events.ReadingRecorded.class));
      default -> log.debug("billing ignores {} {}", type, event.id());
    }
  }

  private static void meterRegistered(Handle h, Events.MeterRegistered m) {
    h.createUpdate(
            "INSERT INTO billing_meter (meter_id, account_id, tariff, registered_at)"
                + " VALUES (:meterId, :accountId, :tariff, :registeredAt)"
                + " ON CONFLICT (meter_id) DO NOTHING")
        .bind("meterId", m.meterId())
        .bind("accountId", m.accountId())
        .bind("tariff", m.tariff())
        .bind("registeredAt", m.registeredAt() == null ? Instant.EPOCH : m.registeredAt())
        .execute();
  }

  private void readingRecorded(Handle h, Events.ReadingRecorded r) {
    Instant start = r.intervalStart();
    Tariff tariff = tariffs.get(r.tariff());
    boolean peak = tariff.band(start) == Band.PEAK;
    YearMonth period = tariff.period(start);
    h.createUpdate(
            "INSERT INTO bill_usage AS u (account_id, period, meter_id, tariff,"
                + " kwh_peak, kwh_off_peak, readings_peak, readings_off_peak)"
                + " VALUES (:account, :period, :meter, :tariff, :kwhPeak, :kwhOff, :nPeak, :nOff)"
                + " ON CONFLICT (account_id, period, meter_id, tariff) DO UPDATE SET"
                + "  kwh_peak = u.kwh_peak + excluded.kwh_peak,"
                + "  kwh_off_peak = u.kwh_off_peak + excluded.kwh_off_peak,"
                + "  readings_peak = u.readings_peak + excluded.readings_peak,"
                + "  readings_off_peak = u.readings_off_peak + excluded.readings_off_peak")
        .bind("account", r.accountId())
        .bind("period", period.atDay(1))
        .bind("meter", r.meterId())
        .bind("tariff", r.tariff())
        .bind("kwhPeak", peak ? r.kwh() : java.math.BigDecimal.ZERO)
        .bind("kwhOff", peak ? java.math.BigDecimal.ZERO : r.kwh())
        .bind("nPeak", peak ? 1 : 0)
        .bind("nOff", peak ? 0 : 1)
        .execute();
  }
}
