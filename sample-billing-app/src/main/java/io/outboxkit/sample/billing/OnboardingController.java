package io.outboxkit.sample.billing;

import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

/**
 * Billing's side of meter onboarding over HTTP.
 *
 * <pre>
 * GET /onboarding              decisions per status (OPEN, REJECTED, CLOSED), rejections per reason
 * GET /onboarding/{meterId}    billing's decision on one meter
 * </pre>
 */
@Controller
@ExecuteOn(TaskExecutors.BLOCKING)
final class OnboardingController {
  private final Onboarding onboarding;

  OnboardingController(Onboarding onboarding) {
    this.onboarding = onboarding;
  }

  @Get("/onboarding")
  Onboarding.Summary summary() {
    return onboarding.summary();
  }

  @Get("/onboarding/{meterId}")
  HttpResponse<?> decision(@PathVariable String meterId) {
    return onboarding
        .decision(meterId)
        .<HttpResponse<?>>map(HttpResponse::ok)
        .orElseGet(
            () ->
                BillingController.problem(
                    HttpStatus.NOT_FOUND,
                    "meterId",
                    "'" + meterId + "' has no onboarding decision here (yet)"));
  }
}
