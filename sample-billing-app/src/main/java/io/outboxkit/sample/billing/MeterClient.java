package io.outboxkit.sample.billing;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.outboxkit.OutboxException;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The meter service across the service boundary: its {@code GET /readings} API, never its database.
 * The source of truth of the reconciliations.
 */
@Singleton
final class MeterClient {
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /** A reading with its meter's account, feeder and tariff, as the meter service lists it. */
  record Usage(
      String meterId,
      String accountId,
      String feederId,
      String tariff,
      Instant intervalStart,
      BigDecimal kwh) {}

  record Cursor(Instant readingAt, String meterId) {}

  record Page(List<Usage> readings, Cursor next) {}

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String baseUrl;
  private final int pageSize;

  MeterClient(ReconcileSettings settings) {
    this.baseUrl = settings.meterUrl().replaceAll("/+$", "");
    this.pageSize = settings.pageSize();
  }

  /** Every reading whose interval starts in {@code [from, to)}, page by page. */
  List<Usage> readings(Instant from, Instant to) {
    List<Usage> all = new ArrayList<>();
    Cursor after = null;
    do {
      String uri =
          baseUrl
              + "/readings?from="
              + from
              + "&to="
              + to
              + "&limit="
              + pageSize
              + (after == null
                  ? ""
                  : "&afterReadingAt="
                      + after.readingAt()
                      + "&afterMeterId="
                      + URLEncoder.encode(after.meterId(), StandardCharsets.UTF_8));
      Page page = get(uri);
      all.addAll(page.readings());
      after = page.next();
    } while (after != null);
    return all;
  }

  private Page get(String uri) {
    try {
      HttpResponse<byte[]> response =
          http.send(
              HttpRequest.newBuilder(URI.create(uri)).timeout(Duration.ofSeconds(30)).GET().build(),
              HttpResponse.BodyHandlers.ofByteArray());
      if (response.statusCode() != 200) {
        throw new OutboxException(
            "meter service answered "
                + response.statusCode()
                + " to "
                + uri
                + ": "
                + new String(response.body(), StandardCharsets.UTF_8)
                + "; check billing.reconcile.meter-url (BILLING_METER_URL)");
      }
      return JSON.readValue(response.body(), Page.class);
    } catch (IOException e) {
      throw new OutboxException(
          "meter service at "
              + baseUrl
              + " did not answer ("
              + OutboxException.describe(e)
              + "); check that it runs and billing.reconcile.meter-url (BILLING_METER_URL)",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OutboxException("interrupted while asking the meter service", e);
    }
  }
}
