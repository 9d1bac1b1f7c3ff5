package io.outboxkit.sample.meter;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.serde.annotation.Serdeable;
import jakarta.inject.Singleton;
import java.util.List;

/** Turns {@link InvalidRequest} into {@code {"status":400,"message":...,"errors":[...]}}. */
@Produces
@Singleton
final class InvalidRequestHandler
    implements ExceptionHandler<InvalidRequest, HttpResponse<InvalidRequestHandler.ErrorBody>> {

  /** The error answer: {@code message} sums up {@code errors}. */
  @Serdeable
  record ErrorBody(int status, String message, List<InvalidRequest.FieldError> errors) {}

  @Override
  public HttpResponse<ErrorBody> handle(HttpRequest request, InvalidRequest e) {
    return HttpResponse.<ErrorBody>status(e.status())
        .body(new ErrorBody(e.status().getCode(), e.getMessage(), e.errors()));
  }
}
