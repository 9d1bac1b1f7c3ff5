package io.outboxkit.relay;

import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Map;

/**
 * The live status page on the relay's HTTP port: {@code GET /status} (one HTML page, its CSS and
 * script inline, no external asset) polls {@code GET /status.json} ({@link RelayStatus}) every 2 s
 * and renders it. Read-only: no other method is routed. On unless {@code
 * outboxkit.relay.status-page=false} ({@code OUTBOXKIT_RELAY_STATUS_PAGE=false}), which removes
 * both routes (404).
 *
 * <p>The script renders every value as text ({@code textContent}), never as markup, so values that
 * come from the database or the network (dead-letter reasons, error texts) cannot inject HTML. The
 * page's Content-Security-Policy allows its own inline style and script (by hash), requests to its
 * own origin, and nothing else.
 */
@Controller
@Requires(property = "outboxkit.relay.status-page", notEquals = "false")
final class StatusPage {
  private static final String RESOURCES = "/io/outboxkit/relay/status/";

  private final RelayStatus status;
  private final String html;
  private final String policy;

  StatusPage(RelayStatus status) {
    this.status = status;
    String style = resource("status.css");
    String script = resource("status.js");
    this.html = resource("status.html").replace("/*STYLE*/", style).replace("/*SCRIPT*/", script);
    this.policy =
        "default-src 'none'; connect-src 'self'; style-src '"
            + sha256(style)
            + "'; script-src '"
            + sha256(script)
            + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  }

  @Get(uri = "/status", produces = MediaType.TEXT_HTML)
  public HttpResponse<String> page() {
    return secured(HttpResponse.ok(html)).header("Content-Security-Policy", policy);
  }

  @Get(uri = "/status.json", produces = MediaType.APPLICATION_JSON)
  @ExecuteOn(TaskExecutors.BLOCKING)
  public HttpResponse<Map<String, Object>> json() {
    return secured(HttpResponse.ok(status.snapshot()));
  }

  private static <T> MutableHttpResponse<T> secured(MutableHttpResponse<T> r) {
    return r.header("Cache-Control", "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        .header("X-Frame-Options", "DENY");
  }

  private static String resource(String name) {
    try (InputStream in = StatusPage.class.getResourceAsStream(RESOURCES + name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + RESOURCES + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The CSP source of an inline block: {@code sha256-<base64>} of its exact text. */
  static String sha256(String text) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return "sha256-" + Base64.getEncoder().encodeToString(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
