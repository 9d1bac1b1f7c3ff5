package io.outboxkit.sample.meter;

import io.micronaut.context.annotation.ConfigurationProperties;
import java.time.Duration;

/**
 * How new meters are onboarded, under {@code meter.onboarding.*}.
 *
 * @param mode {@code direct}: a meter is ACTIVE at registration (no billing answer needed); {@code
 *     saga}: PENDING until the billing service answers ({@code METER_ONBOARDING}, default direct)
 * @param timeout how long a PENDING meter waits for billing's answer before it is TIMED_OUT ({@code
 *     METER_ONBOARDING_TIMEOUT}, default 30s)
 * @param natsUrl the NATS server holding billing's answers ({@code METER_NATS_URL})
 * @param stream the stream billing's relay writes to ({@code METER_REPLY_STREAM}, default BILLING)
 * @param replySubject billing's answers in it ({@code METER_REPLY_SUBJECT}, billing.onboarding.>)
 * @param deadLetterSubject where answers that fail every delivery go ({@code
 *     METER_DEAD_LETTER_SUBJECT}); the stream must capture it
 * @param pollInterval how often due timeouts are looked for ({@code METER_ONBOARDING_POLL}, 1s)
 */
@ConfigurationProperties("meter.onboarding")
record OnboardingSettings(
    String mode,
    Duration timeout,
    String natsUrl,
    String stream,
    String replySubject,
    String deadLetterSubject,
    Duration pollInterval) {

  boolean saga() {
    return "saga".equals(mode);
  }
}
