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
}
