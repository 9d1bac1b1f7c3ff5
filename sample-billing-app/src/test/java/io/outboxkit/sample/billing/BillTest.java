package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.time.YearMonth;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BillTest {
  static final Tariff HOME =
      new Tariff(
          "residential-tou",
          ZoneId.of("UTC"),
          17,
          21,
          new BigDecimal("0.38"),
          new BigDecimal("0.22"),
          "EUR");
  static final Tariff SHOP =
      new Tariff(
          "commercial-tou",
          ZoneId.of("UTC"),
          8,
          18,
          new BigDecimal("0.30125"),
          new BigDecimal("0.18"),
          "EUR");
  static final Map<String, Tariff> TARIFFS = Map.of(HOME.code(), HOME, SHOP.code(), SHOP);
  static final YearMonth JAN = YearMonth.of(2025, 1);

  static BigDecimal d(String s) {
    return new BigDecimal(s);
  }

  @Test
  void eachBandIsPricedAtItsPriceAndTheTotalAddsUpTheLines() {
    Bill bill =
        Bill.of(
            "a-1",
            JAN,
            List.of(new Bill.Usage("m-1", "residential-tou", d("10.000"), d("20.500"), 40, 82)),
            TARIFFS);

    assertThat(bill.lines()).hasSize(2);
    Bill.Line peak = bill.lines().get(0);
    Bill.Line off = bill.lines().get(1);
    assertThat(peak.band()).isEqualTo(Band.PEAK);
    assertThat(peak.amount()).isEqualByComparingTo("3.80"); // 10 x 0.38
    assertThat(off.amount()).isEqualByComparingTo("4.51"); // 20.5 x 0.22
    assertThat(bill.kwh()).isEqualByComparingTo("30.5");
    assertThat(bill.amount()).isEqualTo(d("8.31"));
    assertThat(bill.amount().scale()).isEqualTo(2);
    assertThat(bill.period()).isEqualTo("2025-01");
    assertThat(bill.currency()).isEqualTo("EUR");
  }

  @Test
  void eachLineIsRoundedOnceHalfUpAndTheTotalIsTheSumOfRoundedLines() {
    // 1.001 x 0.30125 = 0.30155125 -> 0.30; 0.005 x 0.18 = 0.0009 -> 0.00;
    // 0.025 x 0.30125 = 0.00753125 -> 0.01 (m-2 peak); 0.125 x 0.18 = 0.0225 -> 0.02
    Bill bill =
        Bill.of(
            "c-1",
            JAN,
            List.of(
                new Bill.Usage("m-2", "commercial-tou", d("0.025"), d("0.125"), 1, 1),
                new Bill.Usage("m-1", "commercial-tou", d("1.001"), d("0.005"), 1, 1)),
            TARIFFS);
    assertThat(bill.lines())
        .extracting(Bill.Line::meterId)
        .containsExactly("m-1", "m-1", "m-2", "m-2");
    assertThat(bill.lines())
        .extracting(Bill.Line::amount)
        .containsExactly(d("0.30"), d("0.00"), d("0.01"), d("0.02"));
    assertThat(bill.amount()).isEqualTo(d("0.33"));
    // Half up at exactly half a cent: 0.125 x 0.2 = 0.025 -> 0.03; 0.024 -> 0.02.
    assertThat(Bill.charge(d("0.125"), d("0.2"))).isEqualTo(d("0.03"));
    assertThat(Bill.charge(d("0.025"), d("1"))).isEqualTo(d("0.03"));
    assertThat(Bill.charge(d("0.024"), d("1"))).isEqualTo(d("0.02"));
  }

  @Test
  void moneyIsNeverComputedPerReadingSoGroupingCannotChangeTheBill() {
    // 1000 readings of 0.001 kWh at 0.38 would be 0.00038 each (0.00 if rounded per reading);
    // summed first they are 1 kWh = 0.38.
    Bill bill =
        Bill.of(
            "a-1",
            JAN,
            List.of(new Bill.Usage("m-1", "residential-tou", d("1.000"), d("0"), 1000, 0)),
            TARIFFS);
    assertThat(bill.amount()).isEqualTo(d("0.38"));
    assertThat(bill.lines()).hasSize(1);
  }

  @Test
  void anEmptyBillIsZero() {
    Bill bill = Bill.of("a-1", JAN, List.of(), TARIFFS);
    assertThat(bill.lines()).isEmpty();
    assertThat(bill.amount()).isEqualTo(d("0.00"));
    assertThat(bill.kwh()).isEqualByComparingTo("0");
  }

  @Test
  void unknownTariffsAndMixedCurrenciesAreRefused() {
    assertThatThrownBy(
            () ->
                Bill.of(
                    "a-1",
                    JAN,
                    List.of(new Bill.Usage("m-1", "gold", d("1"), d("1"), 1, 1)),
                    TARIFFS))
        .hasMessageContaining("gold");
    Tariff dollars =
        new Tariff("us", ZoneId.of("UTC"), 1, 2, BigDecimal.ONE, BigDecimal.ONE, "USD");
    assertThatThrownBy(
            () ->
                Bill.of(
                    "a-1",
                    JAN,
                    List.of(
                        new Bill.Usage("m-1", "residential-tou", d("1"), d("1"), 1, 1),
                        new Bill.Usage("m-2", "us", d("1"), d("1"), 1, 1)),
                    Map.of("residential-tou", HOME, "us", dollars)))
        .hasMessageContaining("USD");
  }
}
