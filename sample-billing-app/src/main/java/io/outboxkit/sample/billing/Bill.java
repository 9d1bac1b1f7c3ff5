package io.outboxkit.sample.billing;

import io.micronaut.serde.annotation.Serdeable;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * An account's bill for one billing period (a month): one line per meter, tariff and band.
 *
 * <p>Rounding rule: energy is summed exactly (kWh to the Wh, as the readings carry it); each line's
 * charge is {@code kWh × price} rounded once to the currency's minor unit (2 decimals) half up; the
 * total is the sum of the rounded lines, so the printed lines always add up to the total. No money
 * is computed per reading, so the order and grouping of readings cannot change a bill.
 *
 * @param accountId the account
 * @param period the month
 * @param currency the currency of every line
 * @param lines the lines, by meter, tariff, then peak before off-peak
 * @param kwh the energy of all lines
 * @param amount the sum of the lines' amounts
 */
@Serdeable
record Bill(
    String accountId,
    String period,
    String currency,
    List<Line> lines,
    BigDecimal kwh,
    BigDecimal amount) {

  /** Money has 2 decimals, rounded half up. */
  static final int MONEY_SCALE = 2;

  static final RoundingMode MONEY_ROUNDING = RoundingMode.HALF_UP;

  /**
   * One line.
   *
   * @param meterId the meter
   * @param tariff the tariff code
   * @param band peak or off-peak
   * @param kwh energy in the band, exact
   * @param readings how many readings make it up
   * @param price per kWh
   * @param amount {@code kwh × price}, rounded to cents half up
   */
  @Serdeable
  record Line(
      String meterId,
      String tariff,
      Band band,
      BigDecimal kwh,
      long readings,
      BigDecimal price,
      BigDecimal amount) {}

  /**
   * What the billing read model stores per account, period, meter and tariff: energy per band.
   *
   * @param meterId the meter
   * @param tariff the tariff code
   * @param kwhPeak energy in peak hours
   * @param kwhOffPeak energy in the other hours
   * @param readingsPeak readings in peak hours
   * @param readingsOffPeak readings in the other hours
   */
  record Usage(
      String meterId,
      String tariff,
      BigDecimal kwhPeak,
      BigDecimal kwhOffPeak,
      long readingsPeak,
      long readingsOffPeak) {}

  /**
   * Prices {@code usages} under {@code tariffs}; every tariff must be known and in one currency.
   */
  static Bill of(
      String accountId, YearMonth period, List<Usage> usages, Map<String, Tariff> tariffs) {
    List<Line> lines = new ArrayList<>();
    String currency = null;
    List<Usage> sorted = new ArrayList<>(usages);
    sorted.sort(Comparator.comparing(Usage::meterId).thenComparing(Usage::tariff));
    for (Usage u : sorted) {
      Tariff tariff = tariffs.get(u.tariff());
      if (tariff == null) {
        throw new IllegalStateException(
            "tariff '" + u.tariff() + "' of meter " + u.meterId() + " is unknown");
      }
      if (currency == null) {
        currency = tariff.currency();
      } else if (!currency.equals(tariff.currency())) {
        throw new IllegalStateException(
            "account " + accountId + " has tariffs in " + currency + " and " + tariff.currency());
      }
      if (u.readingsPeak() > 0) {
        lines.add(line(u.meterId(), tariff, Band.PEAK, u.kwhPeak(), u.readingsPeak()));
      }
      if (u.readingsOffPeak() > 0) {
        lines.add(line(u.meterId(), tariff, Band.OFF_PEAK, u.kwhOffPeak(), u.readingsOffPeak()));
      }
    }
    BigDecimal kwh = lines.stream().map(Line::kwh).reduce(BigDecimal.ZERO, BigDecimal::add);
    BigDecimal amount =
        lines.stream()
            .map(Line::amount)
            .reduce(BigDecimal.ZERO.setScale(MONEY_SCALE), BigDecimal::add);
    return new Bill(
        accountId, period.toString(), currency == null ? "EUR" : currency, lines, kwh, amount);
  }

  /** {@code kwh × price} rounded to cents, half up. */
  static BigDecimal charge(BigDecimal kwh, BigDecimal price) {
    return kwh.multiply(price).setScale(MONEY_SCALE, MONEY_ROUNDING);
  }

  private static Line line(
      String meterId, Tariff tariff, Band band, BigDecimal kwh, long readings) {
    BigDecimal price = tariff.price(band);
    return new Line(meterId, tariff.code(), band, kwh, readings, price, charge(kwh, price));
  }
}
