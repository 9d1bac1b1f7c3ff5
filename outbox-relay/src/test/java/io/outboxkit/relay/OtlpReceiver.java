package io.outboxkit.relay;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;

/**
 * A collector's OTLP/HTTP traces endpoint ({@code POST /v1/traces}, protobuf) on a free loopback
 * port, keeping every span it is sent: what a relay process exports when tracing is on.
 */
final class OtlpReceiver implements AutoCloseable {
  /** One received span; ids in lower-case hex, the parent's empty for a root span. */
  record Received(
      String traceId,
      String spanId,
      String parentSpanId,
      String name,
      String kind,
      Map<String, String> attributes,
      String service) {}

  private final HttpServer server;
  private final List<Received> spans = new CopyOnWriteArrayList<>();

  OtlpReceiver() {
    try {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server.createContext(
        "/v1/traces",
        exchange -> {
          try (InputStream in = body(exchange.getRequestBody(), exchange)) {
            ExportTraceServiceRequest request = ExportTraceServiceRequest.parseFrom(in);
            request.getResourceSpansList().forEach(this::keep);
            byte[] ok = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
            exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(200, ok.length == 0 ? -1 : ok.length);
            if (ok.length > 0) {
              exchange.getResponseBody().write(ok);
            }
          } catch (IOException | RuntimeException e) {
            exchange.sendResponseHeaders(400, -1);
          } finally {
            exchange.close();
          }
        });
    server.start();
  }

  private static InputStream body(InputStream in, com.sun.net.httpserver.HttpExchange exchange)
      throws IOException {
    String encoding = exchange.getRequestHeaders().getFirst("Content-Encoding");
    return "gzip".equalsIgnoreCase(encoding) ? new GZIPInputStream(in) : in;
  }

  private void keep(ResourceSpans rs) {
    String service = attributes(rs.getResource()).get("service.name");
    for (ScopeSpans ss : rs.getScopeSpansList()) {
      for (io.opentelemetry.proto.trace.v1.Span s : ss.getSpansList()) {
        spans.add(
            new Received(
                hex(s.getTraceId().toByteArray()),
                hex(s.getSpanId().toByteArray()),
                hex(s.getParentSpanId().toByteArray()),
                s.getName(),
                s.getKind().name(),
                attributes(s.getAttributesList()),
                service));
      }
    }
  }

  private static Map<String, String> attributes(Resource resource) {
    return attributes(resource.getAttributesList());
  }

  private static Map<String, String> attributes(List<KeyValue> list) {
    Map<String, String> map = new LinkedHashMap<>();
    for (KeyValue kv : list) {
      var v = kv.getValue();
      map.put(
          kv.getKey(),
          v.hasStringValue()
              ? v.getStringValue()
              : v.hasIntValue() ? Long.toString(v.getIntValue()) : v.toString().trim());
    }
    return map;
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }

  /** {@code http://127.0.0.1:<port>/v1/traces} */
  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1/traces";
  }

  List<Received> spans() {
    return List.copyOf(spans);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
