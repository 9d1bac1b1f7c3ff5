package io.outboxkit.sample.billing;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.SerdeImport;
import io.outboxkit.OutboxException;
import io.outboxkit.patterns.rebuild.RebuildProgress;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * CQRS rebuilds over HTTP.
 *
 * <pre>
 * POST /rebuild/{model}?from=      starts rebuilding bills or load from the stream (202), from its
 *                                  start or from an ISO time; 409 while one runs
 * GET  /rebuild/{model}            its progress: phase, events applied, stream position and end
 * </pre>
 */
@Controller("/rebuild")
@SerdeImport(RebuildProgress.class)
@ExecuteOn(TaskExecutors.BLOCKING)
final class RebuildController {
  private final Rebuilds rebuilds;

  RebuildController(Rebuilds rebuilds) {
    this.rebuilds = rebuilds;
  }

  @Post("/{model}{?from}")
  HttpResponse<?> start(@PathVariable String model, @Nullable @QueryValue String from) {
    if (!rebuilds.exists(model)) {
      return unknown(model);
    }
    Instant start;
    try {
      start = from == null ? null : OffsetDateTime.parse(from).toInstant();
    } catch (DateTimeParseException e) {
      return BillingController.problem(
          HttpStatus.BAD_REQUEST, "from", "is '" + from + "', not an ISO-8601 time");
    }
    try {
      if (!rebuilds.progress(model).phase().ended()) {
        return BillingController.problem(
            HttpStatus.CONFLICT, "model", model + " is being rebuilt: see GET /rebuild/" + model);
      }
      return HttpResponse.accepted().body(rebuilds.start(model, start));
    } catch (OutboxException e) {
      return BillingController.problem(HttpStatus.SERVICE_UNAVAILABLE, "model", e.getMessage());
    }
  }

  @Get("/{model}")
  HttpResponse<?> progress(@PathVariable String model) {
    if (!rebuilds.exists(model)) {
      return unknown(model);
    }
    try {
      return HttpResponse.ok(rebuilds.progress(model));
    } catch (OutboxException e) {
      return BillingController.problem(HttpStatus.SERVICE_UNAVAILABLE, "model", e.getMessage());
    }
  }

  private HttpResponse<?> unknown(String model) {
    return BillingController.problem(
        HttpStatus.NOT_FOUND,
        "model",
        "'" + model + "' is not a read model here: give one of " + rebuilds.models());
  }
}
