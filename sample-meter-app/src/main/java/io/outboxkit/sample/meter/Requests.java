package io.outboxkit.sample.meter;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.http.HttpStatus;
import jakarta.inject.Singleton;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Parses and validates request bodies strictly, collecting every problem with the field it is
 * about. Nothing reaches the database before the whole request passed.
 *
 * <p>The rules (also in the README):
 *
 * <ul>
 *   <li>ids ({@code meterId}, {@code accountId}, {@code feederId}): 1–64 characters of {@code A-Z
 *       a-z 0-9 . _ : -}, starting with a letter or digit;
 *   <li>{@code tariff}: one of {@code meter.tariffs};
 *   <li>{@code readingAt}: ISO-8601 with a UTC offset, on a 15-minute boundary, not later than now
 *       plus {@code meter.clock-skew}, not before 2000;
 *   <li>{@code kwh}: a JSON number, 0 or more, at most {@code meter.max-kwh-per-reading}, at most 3
 *       decimals (Wh);
 *   <li>a batch has 1 to {@code meter.max-batch-size} readings, no two for the same meter and time;
 *   <li>unknown fields are refused, so a typo such as {@code kWh} never passes silently.
 * </ul>
 */
@Singleton
final class Requests {
  /** A reading covers the 15 minutes ending at its timestamp. */
  static final Duration INTERVAL = Duration.ofMinutes(15);

  static final Instant OLDEST = Instant.parse("2000-01-01T00:00:00Z");
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");
  private static final int MAX_ERRORS = 50;
  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  /** A meter to register. */
  record NewMeter(String meterId, String accountId, String feederId, String tariff) {}

  /**
   * A reading to record; {@code path} is where it sits in the request (e.g. {@code readings[3]}, or
   * empty for a single reading), for error messages.
   */
  record NewReading(String path, String meterId, Instant readingAt, BigDecimal kwh) {
    String field(String name) {
      return path.isEmpty() ? name : path + "." + name;
    }
  }

  private final MeterSettings settings;
  private final Clock clock;

  Requests(MeterSettings settings, Clock clock) {
    this.settings = settings;
    this.clock = clock;
  }

  NewMeter meter(String body) {
    JsonNode root = object(body);
    Errors errors = new Errors();
    errors.unknownFields(root, "", List.of("meterId", "accountId", "feederId", "tariff"));
    String meterId = errors.id(root, "", "meterId");
    String accountId = errors.id(root, "", "accountId");
    String feederId = errors.id(root, "", "feederId");
    String tariff = errors.text(root, "", "tariff");
    if (tariff != null && !settings.tariffs().contains(tariff)) {
      errors.add("tariff", "is '" + tariff + "'; known tariffs: " + settings.tariffs());
    }
    errors.throwIfAny();
    return new NewMeter(meterId, accountId, feederId, tariff);
  }

  /** {@code POST /meters/{meterId}/readings}: one reading, {@code {"readingAt":..,"kwh":..}}. */
  NewReading reading(String meterId, String body) {
    JsonNode root = object(body);
    Errors errors = new Errors();
    errors.unknownFields(root, "", List.of("meterId", "readingAt", "kwh"));
    JsonNode inBody = root.get("meterId");
    if (inBody != null && !(inBody.isTextual() && inBody.textValue().equals(meterId))) {
      errors.add("meterId", "in the body differs from the meter in the path (" + meterId + ")");
    }
    NewReading reading = reading(root, "", meterId, errors);
    errors.throwIfAny();
    return reading;
  }

  /** {@code POST /readings}: {@code {"readings":[{"meterId":..,"readingAt":..,"kwh":..},..]}}. */
  List<NewReading> batch(String body) {
    JsonNode root = object(body);
    Errors errors = new Errors();
    errors.unknownFields(root, "", List.of("readings"));
    JsonNode list = root.get("readings");
    if (list == null || list.isNull()) {
      throw InvalidRequest.of("readings", "is missing: give a list of readings");
    }
    if (!list.isArray()) {
      throw InvalidRequest.of("readings", "is a " + kind(list) + ", not a list");
    }
    if (list.isEmpty()) {
      throw InvalidRequest.of("readings", "is empty: give at least one reading");
    }
    if (list.size() > settings.maxBatchSize()) {
      throw InvalidRequest.of(
          "readings",
          "has "
              + list.size()
              + " readings; at most "
              + settings.maxBatchSize()
              + " per request: split the batch");
    }
    List<NewReading> readings = new ArrayList<>(list.size());
    Map<String, String> seen = new HashMap<>();
    for (int i = 0; i < list.size(); i++) {
      String path = "readings[" + i + "]";
      JsonNode item = list.get(i);
      if (!item.isObject()) {
        errors.add(path, "is a " + kind(item) + ", not an object");
        continue;
      }
      errors.unknownFields(item, path, List.of("meterId", "readingAt", "kwh"));
      String meterId = errors.id(item, path, "meterId");
      NewReading reading = reading(item, path, meterId, errors);
      if (reading != null) {
        String key = reading.meterId() + "@" + reading.readingAt();
        String earlier = seen.putIfAbsent(key, path);
        if (earlier != null) {
          errors.add(
              reading.field("readingAt"),
              "repeats the meter and time of " + earlier + ": one reading per meter and interval");
        } else {
          readings.add(reading);
        }
      }
    }
    errors.throwIfAny();
    return readings;
  }

  private NewReading reading(JsonNode node, String path, String meterId, Errors errors) {
    Instant readingAt = readingAt(node, path, errors);
    BigDecimal kwh = kwh(node, path, errors);
    return meterId == null || readingAt == null || kwh == null
        ? null
        : new NewReading(path, meterId, readingAt, kwh);
  }

  private Instant readingAt(JsonNode node, String path, Errors errors) {
    String field = Errors.field(path, "readingAt");
    String text = errors.text(node, path, "readingAt");
    if (text == null) {
      return null;
    }
    Instant at;
    try {
      at = OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      errors.add(
          field,
          "is '" + text + "', not an ISO-8601 time with a UTC offset, e.g. 2025-01-31T23:45:00Z");
      return null;
    }
    Instant latest = clock.instant().plus(settings.clockSkew());
    if (at.isAfter(latest)) {
      errors.add(
          field,
          "is "
              + at
              + ", in the future (now is "
              + clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
              + "): a reading is sent after its interval ends");
      return null;
    }
    if (at.isBefore(OLDEST)) {
      errors.add(field, "is " + at + ", before " + OLDEST + ": not a plausible reading");
      return null;
    }
    if (at.getNano() != 0 || at.getEpochSecond() % INTERVAL.toSeconds() != 0) {
      errors.add(
          field,
          "is " + at + ", not on a 15-minute boundary (:00, :15, :30 or :45 with 0 seconds)");
      return null;
    }
    return at;
  }

  private BigDecimal kwh(JsonNode node, String path, Errors errors) {
    String field = Errors.field(path, "kwh");
    JsonNode value = node.get("kwh");
    if (value == null || value.isNull()) {
      errors.add(field, "is missing: give the energy of the interval in kWh");
      return null;
    }
    if (!value.isNumber()) {
      errors.add(field, "is a " + kind(value) + ", not a number");
      return null;
    }
    BigDecimal kwh = value.decimalValue();
    if (kwh.signum() < 0) {
      errors.add(field, "is " + kwh.toPlainString() + ": energy consumed is 0 or more");
      return null;
    }
    if (kwh.compareTo(settings.maxKwhPerReading()) > 0) {
      errors.add(
          field,
          "is "
              + kwh.toPlainString()
              + " kWh, more than the "
              + settings.maxKwhPerReading().toPlainString()
              + " kWh a meter can use in 15 minutes");
      return null;
    }
    BigDecimal stripped = kwh.stripTrailingZeros();
    if (stripped.scale() > 3) {
      errors.add(field, "is " + kwh.toPlainString() + ": at most 3 decimals (1 Wh)");
      return null;
    }
    return stripped.setScale(3);
  }

  private static JsonNode object(String body) {
    if (body == null || body.isBlank()) {
      throw InvalidRequest.of("body", "is empty: send a JSON object");
    }
    JsonNode root;
    try {
      root = MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      String where =
          e.getLocation() == null
              ? ""
              : " at line "
                  + e.getLocation().getLineNr()
                  + ", column "
                  + e.getLocation().getColumnNr();
      throw InvalidRequest.of("body", "is not valid JSON" + where + ": " + e.getOriginalMessage());
    }
    if (!root.isObject()) {
      throw InvalidRequest.of("body", "is a " + kind(root) + ", not a JSON object");
    }
    return root;
  }

  private static String kind(JsonNode node) {
    return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Collects problems; throws them all at once. */
  private static final class Errors {
    private final List<InvalidRequest.FieldError> list = new ArrayList<>();

    static String field(String path, String name) {
      return path.isEmpty() ? name : path + "." + name;
    }

    void add(String field, String message) {
      if (list.size() < MAX_ERRORS) {
        list.add(new InvalidRequest.FieldError(field, message));
      }
    }

    void unknownFields(JsonNode node, String path, List<String> known) {
      for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (!known.contains(name)) {
          add(field(path, name), "is not a known field; expected " + known);
        }
      }
    }

    String text(JsonNode node, String path, String name) {
      JsonNode value = node.get(name);
      if (value == null || value.isNull()) {
        add(field(path, name), "is missing");
        return null;
      }
      if (!value.isTextual()) {
        add(field(path, name), "is a " + kind(value) + ", not a string");
        return null;
      }
      return value.textValue();
    }

    String id(JsonNode node, String path, String name) {
      String text = text(node, path, name);
      if (text != null && !ID.matcher(text).matches()) {
        add(
            field(path, name),
            "is '"
                + (text.length() > 80 ? text.substring(0, 80) + "…" : text)
                + "': use 1 to 64 of A-Z a-z 0-9 . _ : - starting with a letter or digit");
        return null;
      }
      return text;
    }

    void throwIfAny() {
      if (!list.isEmpty()) {
        throw new InvalidRequest(HttpStatus.BAD_REQUEST, list);
      }
    }
  }
}
