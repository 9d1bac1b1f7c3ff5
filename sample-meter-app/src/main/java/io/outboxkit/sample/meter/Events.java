package io.outboxkit.sample.meter;

import java.math.BigDecimal;
import java.time.Instant;

/**
 * The events this service publishes through the outbox: aggregate type {@code meter}, aggregate id
 * = the meter id, so the relay routes them to {@code outbox.meter.MeterRegistered} and {@code
 * outbox.meter.ReadingRecorded}. The JSON form of these records is the contract with consumers.
 */
final class Events {
  static final String AGGREGATE_TYPE = "meter";
  static final String METER_REGISTERED = "MeterRegistered";
  static final String READING_RECORDED = "ReadingRecorded";

  /** The onboarding saga's events, both ways: aggregate type {@code onboarding}, id = meter id. */
  static final String ONBOARDING = "onboarding";

  static final String REGISTRATION_REQUESTED = "MeterRegistrationRequested";
  static final String REGISTRATION_CANCELLED = "MeterRegistrationCancelled";
  static final String ACCOUNT_OPENED = "AccountOpened";
  static final String REGISTRATION_REJECTED = "MeterRegistrationRejected";

  private Events() {}

  /** A meter joined the grid. */
  record MeterRegistered(
      String meterId, String accountId, String feederId, String tariff, Instant registeredAt) {}

  /**
   * A reading was recorded: {@code kwh} is the energy consumed in the interval {@code
   * [intervalStart, readingAt)} of {@code intervalMinutes} (15). It carries the meter's account,
   * feeder and tariff so that each consumer can apply it on its own, in any order.
   */
  record ReadingRecorded(
      String meterId,
      String accountId,
      String feederId,
      String tariff,
      Instant intervalStart,
      Instant readingAt,
      int intervalMinutes,
      BigDecimal kwh) {}

  /** Onboarding step 1 (meter service → billing): open an account for this meter, or reject it. */
  record MeterRegistrationRequested(
      String meterId, String accountId, String feederId, String tariff, Instant requestedAt) {}

  /**
   * Compensation (meter service → billing): billing accepted the meter after the meter service had
   * given up on it (timed out): close the account opened for it.
   */
  record MeterRegistrationCancelled(
      String meterId, String accountId, String reason, Instant cancelledAt) {}

  /** Billing's acceptance (billing → meter service), from billing's own outbox and relay. */
  record AccountOpened(String meterId, String accountId, String feederId, Instant openedAt) {}

  /**
   * Billing's refusal: {@code reason} is a code (UNKNOWN_TARIFF, FEEDER_AT_CAPACITY), {@code
   * detail} text.
   */
  record MeterRegistrationRejected(
      String meterId, String accountId, String reason, String detail, Instant rejectedAt) {}
}
