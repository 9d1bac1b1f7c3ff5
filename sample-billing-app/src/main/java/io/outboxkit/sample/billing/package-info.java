/**
 * The sample billing service: two read models fed by the meter service's events through
 * outbox-core's idempotent consumer, each in this service's own database (CQRS).
 *
 * <ul>
 *   <li><b>billing</b> (durable consumer {@code billing}, subjects {@code outbox.meter.>}): energy
 *       per account, month, meter, tariff and band; {@code GET /bills/{account}/{yyyy-MM}} prices
 *       it under the time-of-use tariff;
 *   <li><b>grid load</b> (durable consumer {@code grid-load}, subject {@code
 *       outbox.meter.ReadingRecorded}): energy per feeder and 15-minute interval; {@code GET
 *       /feeders/{feeder}/load} answers the load curve in kW.
 * </ul>
 *
 * <p>The domain arithmetic ({@link io.outboxkit.sample.billing.Tariff}, {@link
 * io.outboxkit.sample.billing.Bill}, {@link io.outboxkit.sample.billing.LoadCurve}) is pure and
 * unit-tested.
 */
package io.outboxkit.sample.billing;
