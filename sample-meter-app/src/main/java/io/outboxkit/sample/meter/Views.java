package io.outboxkit.sample.meter;

import io.micronaut.serde.annotation.Serdeable;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;

/** What the meter service answers with. */
final class Views {
  private Views() {}

  /**
   * A registered meter, with a count of its readings. {@code status}: ACTIVE (takes readings), or,
   * while or after its onboarding with billing failed, PENDING, REJECTED or TIMED_OUT, with {@code
   * statusReason}.
   */
  @Serdeable
  record Meter(
      String meterId,
      String accountId,
      String feederId,
      String tariff,
      Instant registeredAt,
      long readings,
      Instant lastReadingAt,
      String status,
      String statusReason) {}

  /** A meter's onboarding saga: its state, deadline and every step ({@code GET .../onboarding}). */
  @Serdeable
  record Onboarding(
      String meterId,
      String state,
      Instant deadline,
      Instant startedAt,
      Instant updatedAt,
      List<OnboardingStep> steps) {}

  /** One step of an onboarding saga; {@code outcome} APPLIED, LATE or IGNORED. */
  @Serdeable
  record OnboardingStep(
      int seq,
      String kind,
      String name,
      String eventId,
      String fromState,
      String toState,
      String outcome,
      String note,
      Instant at) {}

  /**
   * All onboardings: sagas per state, late answers per type, of which {@code lateCompensated}
   * acceptances were compensated with MeterRegistrationCancelled.
   */
  @Serdeable
  record OnboardingSummary(
      String mode,
      java.util.Map<String, Long> states,
      java.util.Map<String, Long> lateReplies,
      long lateCompensated,
      boolean consumerRunning) {}

  /** The answer to a registration; {@code created} is false when it was registered before. */
  @Serdeable
  record Registered(boolean created, Meter meter) {}

  /**
   * The answer to recording readings: {@code recorded} new readings (each with one {@code
   * ReadingRecorded} event), {@code duplicates} that were already stored with the same kWh.
   */
  @Serdeable
  record Recorded(int recorded, int duplicates) {}

  /** One stored reading: the energy of the 15 minutes ending at {@code readingAt}. */
  @Serdeable
  record Reading(Instant readingAt, BigDecimal kwh, Instant recordedAt) {}

  /** Energy of one meter in one period (a day or a month starting at {@code periodStart}). */
  @Serdeable
  record PeriodTotal(LocalDate periodStart, BigDecimal kwh, long readings) {}

  /** A meter's totals per period, in {@code zone}. */
  @Serdeable
  record MeterTotals(String meterId, String period, String zone, List<PeriodTotal> totals) {}

  /** An account's energy in a month (the billing period). */
  @Serdeable
  record AccountMonth(String accountId, LocalDate period, BigDecimal kwh, long readings) {}

  /** A feeder's energy in one 15-minute interval starting at {@code intervalStart}. */
  @Serdeable
  record FeederInterval(String feederId, Instant intervalStart, BigDecimal kwh, long readings) {}

  /**
   * The source of truth in one answer, for the demo's convergence check: counts, the energy per
   * account and month, and per feeder and 15-minute interval (months in {@code zone}).
   */
  @Serdeable
  record Totals(
      String zone,
      long meters,
      long readings,
      BigDecimal kwh,
      long outboxRows,
      List<AccountMonth> accounts,
      List<FeederInterval> feeders) {}

  /**
   * One reading with the meter's account, feeder and tariff, as {@code GET /readings} lists them:
   * the energy of the 15 minutes starting at {@code intervalStart}.
   */
  @Serdeable
  record Usage(
      String meterId,
      String accountId,
      String feederId,
      String tariff,
      Instant intervalStart,
      Instant readingAt,
      BigDecimal kwh) {}

  /** Where the next page of {@code GET /readings} starts: after this reading. */
  @Serdeable
  record Cursor(Instant readingAt, String meterId) {}

  /** A page of readings in a time window, in (readingAt, meterId) order; {@code next} null last. */
  @Serdeable
  record UsagePage(List<Usage> readings, Cursor next) {}
}
