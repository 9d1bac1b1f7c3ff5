package io.outboxkit.sample.billing;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * The billing service's HTTP API over its read models. Every answer says how fresh it is.
 *
 * <pre>
 * GET /bills/{accountId}/{yyyy-MM}      the bill of a month, priced under the account's tariffs
 * GET /feeders                          the feeders with load data
 * GET /feeders/{feederId}/load          ?from=&to= (ISO times); default: the latest 96 intervals
 * GET /status                           both consumers' freshness, and the stream's counts
 * GET /summary                          what the demo's convergence check compares
 * </pre>
 */
@Controller
@ExecuteOn(TaskExecutors.BLOCKING)
final class BillingController {
  private static final int MAX_INTERVALS = 96 * 31;

  /** A bill and how fresh the billing read model is. */
  @Serdeable
  record BillAnswer(Bill bill, Progress.Freshness freshness) {}

  /** A load curve and how fresh the grid-load read model is. */
  @Serdeable
  record LoadAnswer(LoadCurve curve, Progress.Freshness freshness) {}

  /** Both consumers' freshness and the stream's counts. */
  @Serdeable
  record Status(List<Progress.Freshness> consumers, Consumers.StreamCounts stream) {}

  /** A refusal; like the meter service's, it names the field. */
  @Serdeable
  record Problem(int status, String message, List<FieldError> errors) {}

  /** One problem with one field. */
  @Serdeable
  record FieldError(String field, String message) {}

  private final ReadModels readModels;
  private final Progress progress;
  private final Consumers consumers;

  BillingController(ReadModels readModels, Progress progress, Consumers consumers) {
    this.readModels = readModels;
    this.progress = progress;
    this.consumers = consumers;
  }

  @Get("/bills/{accountId}/{period}")
  HttpResponse<?> bill(@PathVariable String accountId, @PathVariable String period) {
    YearMonth month;
    try {
      month = YearMonth.parse(period);
    } catch (DateTimeParseException e) {
      return problem(
          HttpStatus.BAD_REQUEST, "period", "is '" + period + "'; give a month as 2025-01");
    }
    Progress.Freshness freshness =
        readModels.freshness(BillingProjection.CONSUMER, progress, consumers);
    return readModels
        .bill(accountId, month)
        .<HttpResponse<?>>map(b -> HttpResponse.ok(new BillAnswer(b, freshness)))
        .orElseGet(
            () ->
                problem(
                    HttpStatus.NOT_FOUND,
                    "accountId",
                    "'" + accountId + "' has no meters or usage in the billing read model (yet)"));
  }

  @Get("/feeders")
  List<ReadModels.Feeder> feeders() {
    return readModels.feeders();
  }

  @Get("/feeders/{feederId}/load{?from,to}")
  HttpResponse<?> load(
      @PathVariable String feederId,
      @Nullable @QueryValue String from,
      @Nullable @QueryValue String to) {
    Instant start;
    Instant end;
    try {
      start = from == null ? null : OffsetDateTime.parse(from).toInstant();
    } catch (DateTimeParseException e) {
      return problem(HttpStatus.BAD_REQUEST, "from", "is '" + from + "', not an ISO-8601 time");
    }
    try {
      end = to == null ? null : OffsetDateTime.parse(to).toInstant();
    } catch (DateTimeParseException e) {
      return problem(HttpStatus.BAD_REQUEST, "to", "is '" + to + "', not an ISO-8601 time");
    }
    int limit = start == null && end == null ? 96 : MAX_INTERVALS;
    List<LoadCurve.Interval> intervals = readModels.load(feederId, start, end, limit);
    Progress.Freshness freshness =
        readModels.freshness(GridLoadProjection.CONSUMER, progress, consumers);
    if (intervals.isEmpty() && start == null && end == null) {
      return problem(HttpStatus.NOT_FOUND, "feederId", "'" + feederId + "' has no load data (yet)");
    }
    return HttpResponse.ok(new LoadAnswer(LoadCurve.of(feederId, intervals), freshness));
  }

  @Get("/status")
  Status status() {
    List<Progress.Freshness> list =
        List.of(
            readModels.freshness(BillingProjection.CONSUMER, progress, consumers),
            readModels.freshness(GridLoadProjection.CONSUMER, progress, consumers));
    return new Status(list, consumers.stream());
  }

  @Get("/summary")
  ReadModels.Summary summary() {
    return readModels.summary(progress, consumers);
  }

  static HttpResponse<Problem> problem(HttpStatus status, String field, String message) {
    return HttpResponse.<Problem>status(status)
        .body(
            new Problem(
                status.getCode(), field + " " + message, List.of(new FieldError(field, message))));
  }
}
