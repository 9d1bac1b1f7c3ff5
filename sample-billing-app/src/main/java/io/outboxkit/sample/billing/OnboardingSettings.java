package io.outboxkit.sample.billing;

import io.micronaut.context.annotation.ConfigurationProperties;

/**
 * The onboarding saga's billing side, under {@code billing.onboarding.*}.
 *
 * @param enabled false to not consume the meter service's onboarding requests ({@code
 *     BILLING_ONBOARDING_ENABLED})
 * @param subject the requests in the meter relay's stream ({@code BILLING_ONBOARDING_SUBJECT},
 *     {@code outbox.onboarding.>})
 * @param feederCapacity most OPEN accounts (meters) per feeder; the next is rejected as
 *     FEEDER_AT_CAPACITY ({@code BILLING_FEEDER_CAPACITY}, 1000)
 */
@ConfigurationProperties("billing.onboarding")
record OnboardingSettings(boolean enabled, String subject, int feederCapacity) {}
