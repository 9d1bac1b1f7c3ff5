package io.outboxkit.sample.meter;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * The meter service's HTTP API. Bodies are parsed by {@link Requests} (strict JSON, every problem
 * named by field); all JDBC work runs on the blocking executor, never on the event loop.
 *
 * <pre>
 * POST /meters                       register {"meterId","accountId","feederId","tariff"}
 * GET  /meters/{id}                  a meter, with its status (PENDING, ACTIVE, REJECTED, TIMED_OUT)
 * GET  /meters/{id}/onboarding       its onboarding saga: state, deadline, steps (saga mode)
 * GET  /onboarding                   all onboardings: sagas per state, late answers
 * POST /meters/{id}/readings         one reading {"readingAt","kwh"}
 * POST /readings                     a batch {"readings":[{"meterId","readingAt","kwh"},..]}
 * GET  /meters/{id}/readings         ?from=&to=&limit=
 * GET  /meters/{id}/totals           ?period=day|month&zone=UTC
 * GET  /totals                       ?zone=UTC  (per account and month, per feeder and interval)
 * GET  /readings                     ?from=&to=&afterReadingAt=&afterMeterId=&limit= (all meters)
 * </pre>
 */
@Controller
@ExecuteOn(TaskExecutors.BLOCKING)
final class MeterController {
  private static final int MAX_LIMIT = 10_000;

  private final Requests requests;
  private final MeterService meters;
  private final Onboarding onboarding;

  MeterController(Requests requests, MeterService meters, Onboarding onboarding) {
    this.requests = requests;
    this.meters = meters;
    this.onboarding = onboarding;
  }

  @Get("/meters/{meterId}/onboarding")
  HttpResponse<Views.Onboarding> onboarding(@PathVariable String meterId) {
    if (meters.meter(meterId).isEmpty()) {
      throw notFound(meterId);
    }
    return onboarding
        .find(meterId)
        .map(
            s ->
                HttpResponse.ok(
                    new Views.Onboarding(
                        s.id(),
                        s.state(),
                        s.deadline(),
                        s.createdAt(),
                        s.updatedAt(),
                        s.steps().stream()
                            .map(
                                t ->
                                    new Views.OnboardingStep(
                                        t.seq(),
                                        t.kind().name(),
                                        t.name(),
                                        t.eventId(),
                                        t.fromState(),
                                        t.toState(),
                                        t.outcome().name(),
                                        t.note(),
                                        t.at()))
                            .toList())))
        .orElseThrow(
            () ->
                new InvalidRequest(
                    HttpStatus.NOT_FOUND,
                    List.of(
                        new InvalidRequest.FieldError(
                            "meterId",
                            "'"
                                + meterId
                                + "' was registered without onboarding (meter.onboarding.mode"
                                + " direct): it was ACTIVE at once"))));
  }

  @Get("/onboarding")
  Views.OnboardingSummary onboardingSummary() {
    return onboarding.summary();
  }

  @Post(uri = "/meters", consumes = MediaType.APPLICATION_JSON)
  HttpResponse<Views.Registered> register(@Nullable @Body String body) {
    Views.Registered registered = meters.register(requests.meter(body));
    return HttpResponse.status(registered.created() ? HttpStatus.CREATED : HttpStatus.OK)
        .body(registered);
  }

  @Get("/meters/{meterId}")
  HttpResponse<Views.Meter> meter(@PathVariable String meterId) {
    return HttpResponse.ok(meters.meter(meterId).orElseThrow(() -> notFound(meterId)));
  }

  @Post(uri = "/meters/{meterId}/readings", consumes = MediaType.APPLICATION_JSON)
  HttpResponse<Views.Recorded> recordOne(
      @PathVariable String meterId, @Nullable @Body String body) {
    return recorded(meters.record(List.of(requests.reading(meterId, body))));
  }

  @Post(uri = "/readings", consumes = MediaType.APPLICATION_JSON)
  HttpResponse<Views.Recorded> recordBatch(@Nullable @Body String body) {
    return recorded(meters.record(requests.batch(body)));
  }

  private static HttpResponse<Views.Recorded> recorded(Views.Recorded recorded) {
    return HttpResponse.status(recorded.recorded() > 0 ? HttpStatus.CREATED : HttpStatus.OK)
        .body(recorded);
  }

  @Get("/meters/{meterId}/readings{?from,to,limit}")
  HttpResponse<List<Views.Reading>> readings(
      @PathVariable String meterId,
      @Nullable @QueryValue String from,
      @Nullable @QueryValue String to,
      @Nullable @QueryValue String limit) {
    if (meters.meter(meterId).isEmpty()) {
      throw notFound(meterId);
    }
    Instant start = from == null ? Requests.OLDEST : instant("from", from);
    Instant end = to == null ? Instant.now().plusSeconds(86_400) : instant("to", to);
    int max = limit == null ? 1000 : intParam("limit", limit, 1, MAX_LIMIT);
    return HttpResponse.ok(meters.readings(meterId, start, end, max));
  }

  @Get("/meters/{meterId}/totals{?period,zone}")
  HttpResponse<Views.MeterTotals> totals(
      @PathVariable String meterId,
      @Nullable @QueryValue String period,
      @Nullable @QueryValue String zone) {
    String unit = period == null ? "month" : period;
    if (!unit.equals("day") && !unit.equals("month")) {
      throw InvalidRequest.of("period", "is '" + unit + "'; use day or month");
    }
    ZoneId z = zone("zone", zone);
    if (meters.meter(meterId).isEmpty()) {
      throw notFound(meterId);
    }
    return HttpResponse.ok(
        new Views.MeterTotals(meterId, unit, z.getId(), meters.totals(meterId, unit, z)));
  }

  /**
   * Every meter's readings whose interval starts in {@code [from, to)}, a page at a time: what the
   * billing service reconciles its read models with.
   */
  @Get("/readings{?from,to,afterReadingAt,afterMeterId,limit}")
  Views.UsagePage usage(
      @Nullable @QueryValue String from,
      @Nullable @QueryValue String to,
      @Nullable @QueryValue String afterReadingAt,
      @Nullable @QueryValue String afterMeterId,
      @Nullable @QueryValue String limit) {
    if (from == null || to == null) {
      throw InvalidRequest.of(from == null ? "from" : "to", "is missing; give an ISO-8601 time");
    }
    Instant start = instant("from", from);
    Instant end = instant("to", to);
    if (!start.isBefore(end)) {
      throw InvalidRequest.of("to", "is '" + to + "', not after from '" + from + "'");
    }
    if ((afterReadingAt == null) != (afterMeterId == null)) {
      throw InvalidRequest.of(
          afterReadingAt == null ? "afterReadingAt" : "afterMeterId",
          "is missing; give both or neither (the next cursor of the previous page)");
    }
    Views.Cursor after =
        afterReadingAt == null
            ? null
            : new Views.Cursor(instant("afterReadingAt", afterReadingAt), afterMeterId);
    int max = limit == null ? 1000 : intParam("limit", limit, 1, MAX_LIMIT);
    return meters.usage(start, end, after, max);
  }

  @Get("/totals{?zone}")
  Views.Totals totals(@Nullable @QueryValue String zone) {
    return meters.totals(zone("zone", zone));
  }

  private static InvalidRequest notFound(String meterId) {
    return new InvalidRequest(
        HttpStatus.NOT_FOUND,
        List.of(new InvalidRequest.FieldError("meterId", "'" + meterId + "' is not registered")));
  }

  private static Instant instant(String field, String text) {
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      throw InvalidRequest.of(field, "is '" + text + "', not an ISO-8601 time with an offset");
    }
  }

  private static int intParam(String field, String text, int min, int max) {
    try {
      int value = Integer.parseInt(text);
      if (value >= min && value <= max) {
        return value;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw InvalidRequest.of(field, "is '" + text + "'; give a number from " + min + " to " + max);
  }

  static ZoneId zone(String field, String text) {
    if (text == null) {
      return ZoneId.of("UTC");
    }
    try {
      return ZoneId.of(text);
    } catch (DateTimeException e) {
      throw InvalidRequest.of(
          field, "is '" + text + "', not a time zone such as UTC or Europe/Paris");
    }
  }
}
