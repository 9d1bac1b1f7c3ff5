package io.outboxkit.sample.billing;

import io.micronaut.context.annotation.ConfigurationProperties;

/**
 * Settings under {@code billing.*}.
 *
 * @param natsUrl the NATS server with JetStream ({@code BILLING_NATS_URL})
 * @param stream the relay's stream ({@code OUTBOX})
 * @param billingSubject what the billing consumer reads ({@code outbox.meter.>})
 * @param gridLoadSubject what the grid-load consumer reads ({@code outbox.meter.ReadingRecorded})
 * @param consumersEnabled false to run the HTTP API over the read models without consuming
 * @param maxDeliveries failed deliveries before an event goes to the dead-letter subject
 * @param deadLetterPrefix dead letters go to this prefix plus the consumer name ({@code
 *     outbox-dlq.billing}); the relay's stream captures {@code outbox-dlq.>}
 */
@ConfigurationProperties("billing")
record BillingSettings(
    String natsUrl,
    String stream,
    String billingSubject,
    String gridLoadSubject,
    boolean consumersEnabled,
    int maxDeliveries,
    String deadLetterPrefix) {}
