package io.outboxkit.sample.meter;

import io.micronaut.http.HttpStatus;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;
import java.util.stream.Collectors;

/** A request refused as a whole; every problem names the field it is about. */
final class InvalidRequest extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** One problem: {@code field} is a path into the request body, e.g. {@code readings[3].kwh}. */
  @Serdeable
  record FieldError(String field, String message) {}

  private final transient HttpStatus status;
  private final transient List<FieldError> errors;

  InvalidRequest(HttpStatus status, List<FieldError> errors) {
    super(summary(errors));
    this.status = status;
    this.errors = List.copyOf(errors);
  }

  static InvalidRequest of(String field, String message) {
    return new InvalidRequest(HttpStatus.BAD_REQUEST, List.of(new FieldError(field, message)));
  }

  HttpStatus status() {
    return status;
  }

  List<FieldError> errors() {
    return errors;
  }

  private static String summary(List<FieldError> errors) {
    String first =
        errors.stream()
            .limit(3)
            .map(e -> e.field() + " " + e.message())
            .collect(Collectors.joining("; "));
    return errors.size() > 3 ? first + "; and " + (errors.size() - 3) + " more" : first;
  }
}
