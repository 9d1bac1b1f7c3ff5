package io.outboxkit.sample.billing;

import io.outboxkit.patterns.reconcile.Reconciliation;
import io.outboxkit.patterns.reconcile.Window;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;

/**
 * The billing read model against the meter service's readings, one billing month at a time: per
 * (account, month, meter, tariff), the energy and reading count of each band, recomputed from the
 * readings under the same tariff rules as {@link BillingProjection}.
 */
final class BillReconciliation implements Reconciliation<BillReconciliation.Usage> {
  static final String NAME = "bills";
  private static final String SEP = "|"; // not allowed in meter, account or tariff ids

  /** One row of {@code bill_usage}; kWh at the table's scale, so that equal sums are equal. */
  record Usage(BigDecimal kwhPeak, BigDecimal kwhOffPeak, long readingsPeak, long readingsOffPeak) {
    Usage {
      kwhPeak = kwhPeak.setScale(3, RoundingMode.UNNECESSARY);
      kwhOffPeak = kwhOffPeak.setScale(3, RoundingMode.UNNECESSARY);
    }

    static Usage sum(Usage a, Usage b) {
      return new Usage(
          a.kwhPeak.add(b.kwhPeak),
          a.kwhOffPeak.add(b.kwhOffPeak),
          a.readingsPeak + b.readingsPeak,
          a.readingsOffPeak + b.readingsOffPeak);
    }

    Usage plus(Band band, BigDecimal kwh) {
      return band == Band.PEAK
          ? new Usage(kwhPeak.add(kwh), kwhOffPeak, readingsPeak + 1, readingsOffPeak)
          : new Usage(kwhPeak, kwhOffPeak.add(kwh), readingsPeak, readingsOffPeak + 1);
    }
  }

  private static final Usage NONE = new Usage(BigDecimal.ZERO, BigDecimal.ZERO, 0, 0);

  private final MeterClient meters;
  private final ConsumerIdle idle;
  private final Tariffs tariffs;
  private final ZoneId zone;

  BillReconciliation(MeterClient meters, ConsumerIdle idle, Tariffs tariffs, ZoneId zone) {
    this.meters = meters;
    this.idle = idle;
    this.tariffs = tariffs;
    this.zone = zone;
  }

  @Override
  public Map<String, Usage> expected(Window window) {
    YearMonth month = YearMonth.from(window.start().atZone(zone));
    Map<String, Usage> map = new HashMap<>();
    List<MeterClient.Usage> readings = meters.readings(window.start(), window.end());
    idle.require(BillingProjection.CONSUMER);
    for (MeterClient.Usage u : readings) {
      Tariff tariff = tariffs.get(u.tariff());
      if (!tariff.period(u.intervalStart()).equals(month)) {
        continue; // cannot happen while all tariffs share the windows' zone
      }
      String key = key(u.accountId(), month.atDay(1), u.meterId(), u.tariff());
      map.merge(key, NONE.plus(tariff.band(u.intervalStart()), u.kwh()), Usage::sum);
    }
    return map;
  }

  @Override
  public Map<String, Usage> actual(Handle h, Window window) {
    LocalDate period = YearMonth.from(window.start().atZone(zone)).atDay(1);
    Map<String, Usage> map = new HashMap<>();
    h.createQuery(
            "SELECT account_id, meter_id, tariff, kwh_peak, kwh_off_peak, readings_peak,"
                + " readings_off_peak FROM bill_usage WHERE period = :period")
        .bind("period", period)
        .map(
            (rs, ctx) ->
                Map.entry(
                    key(rs.getString(1), period, rs.getString(2), rs.getString(3)),
                    new Usage(
                        rs.getBigDecimal(4), rs.getBigDecimal(5), rs.getLong(6), rs.getLong(7))))
        .forEach(e -> map.put(e.getKey(), e.getValue()));
    return map;
  }

  @Override
  public void repair(Handle h, Window window, String key, Usage expected) {
    String[] k = key.split("\\" + SEP, -1);
    if (expected == null) {
      h.createUpdate(
              "DELETE FROM bill_usage WHERE account_id = :a AND period = :p AND meter_id = :m"
                  + " AND tariff = :t")
          .bind("a", k[0])
          .bind("p", LocalDate.parse(k[1]))
          .bind("m", k[2])
          .bind("t", k[3])
          .execute();
      return;
    }
    h.createUpdate(
            "INSERT INTO bill_usage (account_id, period, meter_id, tariff, kwh_peak, kwh_off_peak,"
                + " readings_peak, readings_off_peak) VALUES (:a, :p, :m, :t, :kp, :ko, :np, :no)"
                + " ON CONFLICT (account_id, period, meter_id, tariff) DO UPDATE SET"
                + " kwh_peak = excluded.kwh_peak, kwh_off_peak = excluded.kwh_off_peak,"
                + " readings_peak = excluded.readings_peak,"
                + " readings_off_peak = excluded.readings_off_peak")
        .bind("a", k[0])
        .bind("p", LocalDate.parse(k[1]))
        .bind("m", k[2])
        .bind("t", k[3])
        .bind("kp", expected.kwhPeak())
        .bind("ko", expected.kwhOffPeak())
        .bind("np", expected.readingsPeak())
        .bind("no", expected.readingsOffPeak())
        .execute();
  }

  static String key(String account, LocalDate period, String meter, String tariff) {
    return account + SEP + period + SEP + meter + SEP + tariff;
  }
}
