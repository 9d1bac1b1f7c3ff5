package io.outboxkit.sample.meter;

import io.micronaut.context.annotation.ConfigurationProperties;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;

/**
 * Limits of the meter service, under {@code meter.*}.
 *
 * @param maxBatchSize most readings in one {@code POST /readings}; more is refused with 400
 * @param maxKwhPerReading most energy one 15-minute reading may carry (500 kWh = 2 MW average)
 * @param clockSkew how far in the future a reading's timestamp may lie before it is refused
 * @param tariffs the tariff codes a meter may be registered with
 */
@ConfigurationProperties("meter")
record MeterSettings(
    int maxBatchSize, BigDecimal maxKwhPerReading, Duration clockSkew, List<String> tariffs) {}
