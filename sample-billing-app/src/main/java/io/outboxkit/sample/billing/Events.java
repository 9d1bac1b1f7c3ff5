package io.outboxkit.sample.billing;

import java.math.BigDecimal;
import java.time.Instant;

/**
 * The meter service's events as this service reads them: its own copy of the JSON contract (the
 * services share no code). Unknown fields are ignored, so the producer may add some.
 */
final class Events {
  static final String METER_REGISTERED = "MeterRegistered";
  static final String READING_RECORDED = "ReadingRecorded";

  private Events() {}

  /** A meter joined the grid. */
  record MeterRegistered(
      String meterId, String accountId, String feederId, String tariff, Instant registeredAt) {}

  /** {@code kwh} consumed in the {@code intervalMinutes} ending at {@code readingAt}. */
  record ReadingRecorded(
      String meterId,
      String accountId,
      String feederId,
      String tariff,
      Instant readingAt,
      int intervalMinutes,
      BigDecimal kwh) {

    /** The start of the reading's interval; refuses what the read models cannot hold. */
    Instant intervalStart() {
      if (meterId == null || accountId == null || feederId == null || tariff == null) {
        throw new IllegalArgumentException(
            "ReadingRecorded lacks meterId, accountId, feederId or tariff");
      }
      if (readingAt == null || kwh == null || kwh.signum() < 0) {
        throw new IllegalArgumentException(
            "ReadingRecorded of " + meterId + " has no time or a bad kwh");
      }
      if (intervalMinutes != LoadCurve.INTERVAL.toMinutes()) {
        throw new IllegalArgumentException(
            "ReadingRecorded of " + meterId + " covers " + intervalMinutes + " minutes, not 15");
      }
      return readingAt.minus(LoadCurve.INTERVAL);
    }
  }

  // The onboarding saga: requests from the meter service, answers through this service's outbox
  // (aggregate type onboarding, id = the meter id).
  static final String ONBOARDING = "onboarding";
  static final String REGISTRATION_REQUESTED = "MeterRegistrationRequested";
  static final String REGISTRATION_CANCELLED = "MeterRegistrationCancelled";
  static final String ACCOUNT_OPENED = "AccountOpened";
  static final String REGISTRATION_REJECTED = "MeterRegistrationRejected";

  /** The meter service asks for an account for a new meter. */
  record MeterRegistrationRequested(
      String meterId, String accountId, String feederId, String tariff, Instant requestedAt) {}

  /** The meter service gave up on a meter that billing accepted: close its account. */
  record MeterRegistrationCancelled(
      String meterId, String accountId, String reason, Instant cancelledAt) {}

  /** Billing's acceptance. */
  record AccountOpened(String meterId, String accountId, String feederId, Instant openedAt) {}

  /**
   * Billing's refusal: {@code reason} UNKNOWN_TARIFF or FEEDER_AT_CAPACITY, {@code detail} text.
   */
  record MeterRegistrationRejected(
      String meterId, String accountId, String reason, String detail, Instant rejectedAt) {}
}
