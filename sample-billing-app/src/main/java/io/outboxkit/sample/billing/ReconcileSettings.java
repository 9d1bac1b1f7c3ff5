package io.outboxkit.sample.billing;

import io.micronaut.context.annotation.ConfigurationProperties;
import java.time.Duration;

/**
 * Settings under {@code billing.reconcile.*}: the background sync of the read models with the meter
 * service's readings.
 *
 * @param enabled false to never run it on a schedule ({@code POST /reconcile} still runs it)
 * @param meterUrl the meter service, the source of truth ({@code BILLING_METER_URL})
 * @param interval time between scheduled runs
 * @param settle a window (a month of bills, a day of load) is compared this long after its end
 * @param lookback compares the closed windows that end within this much of now
 * @param loadWindow the window of the load curves (the bills' window is the billing month)
 * @param batchSize drifted keys repaired per transaction
 * @param pageSize readings per request to the meter service
 */
@ConfigurationProperties("billing.reconcile")
record ReconcileSettings(
    boolean enabled,
    String meterUrl,
    Duration interval,
    Duration settle,
    Duration lookback,
    Duration loadWindow,
    int batchSize,
    int pageSize) {}
