package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxEvent;
import io.outboxkit.OutboxSchema;
import io.outboxkit.OutboxTracing;
import io.outboxkit.TableName;
import io.outboxkit.consumer.OutboxConsumer;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One trace covers write → relay → consumer: the writer (an OpenTelemetry SDK in this JVM, spans
 * kept in memory) stores its span's {@code traceparent} in the row, the relay (a real process with
 * tracing on) publishes the row in a PRODUCER span it exports by OTLP/HTTP to a receiver in this
 * test, and the consumer (this JVM again) handles it in a CONSUMER span, child of the relay's.
 */
class RelayTracingIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static final Duration WAIT = Duration.ofSeconds(90);

  static OtlpReceiver collector;
  static RelayProcess relay;
  static String stream;
  static InMemorySpanExporter local;
  static OpenTelemetrySdk otel;
  static OutboxConsumer consumer;
  static final Set<String> handled = ConcurrentHashMap.newKeySet();

  @BeforeAll
  static void start() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    OutboxSchema.migrateInbox(infra.dataSource(), TableName.DEFAULT_INBOX);
    collector = new OtlpReceiver();
    stream = infra.streamName();
    Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream);
    env.put("OUTBOXKIT_RELAY_TRACING_ENABLED", "true");
    env.put("OUTBOXKIT_RELAY_TRACING_ENDPOINT", collector.endpoint());
    env.put("OUTBOXKIT_RELAY_TRACING_SERVICE_NAME", "relay-under-test");
    relay = new RelayProcess(env).start().awaitStreaming(Duration.ofSeconds(90));

    local = InMemorySpanExporter.create();
    otel =
        OpenTelemetrySdk.builder()
            .setTracerProvider(
                SdkTracerProvider.builder()
                    .addSpanProcessor(SimpleSpanProcessor.create(local))
                    .build())
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
            .build();
    consumer =
        OutboxConsumer.builder().name("traced").connection(infra.nats()).jdbi(infra.jdbi()).stream(
                stream)
            .filterSubject(infra.prefix() + ".>")
            .handler((h, e) -> handled.add(e.id()))
            .openTelemetry(otel)
            .build()
            .start();
  }

  @AfterAll
  static void stop() {
    if (consumer != null) {
      consumer.close();
    }
    if (relay != null) {
      relay.close();
    }
    if (collector != null) {
      collector.close();
    }
    if (otel != null) {
      otel.close();
    }
  }

  @Test
  void oneTraceCoversWriteRelayAndConsumer() {
    Outbox outbox = Outbox.builder().openTelemetry(otel).build();
    Span request =
        otel.getTracer("test")
            .spanBuilder("POST /readings")
            .setSpanKind(SpanKind.SERVER)
            .startSpan();
    UUID id;
    try (Scope ignored = request.makeCurrent()) {
      id =
          infra
              .jdbi()
              .inTransaction(
                  h ->
                      outbox.write(
                          h,
                          OutboxEvent.of(
                              "meter", "Zähler-7 🔌", "ReadingRecorded", Map.of("kwh", 1.25))));
    } finally {
      request.end();
    }
    SpanContext writer = request.getSpanContext();

    OtlpReceiver.Received publish = awaitPublished(id.toString());
    assertThat(publish.name()).isEqualTo("publish " + infra.prefix() + ".meter.ReadingRecorded");
    assertThat(publish.kind()).isEqualTo("SPAN_KIND_PRODUCER");
    assertThat(publish.traceId()).isEqualTo(writer.getTraceId());
    assertThat(publish.parentSpanId()).isEqualTo(writer.getSpanId());
    assertThat(publish.service()).isEqualTo("relay-under-test");
    assertThat(publish.attributes())
        .containsEntry("messaging.system", "nats")
        .containsEntry("messaging.destination.name", infra.prefix() + ".meter.ReadingRecorded")
        .containsEntry("messaging.message.id", id.toString())
        .containsEntry("messaging.operation.name", "publish");

    SpanData process = awaitProcessed(id.toString());
    assertThat(process.getKind()).isEqualTo(SpanKind.CONSUMER);
    assertThat(process.getTraceId()).isEqualTo(writer.getTraceId());
    assertThat(process.getParentSpanId()).isEqualTo(publish.spanId());
  }

  @Test
  void aMalformedTraceparentInARowStillFlowsAndStartsANewTrace() {
    String id = "0190f0a0-0000-7000-8000-0000000000a1";
    infra
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type,"
                        + " payload, headers) VALUES (?::uuid, 'meter', 'm-1', 'ReadingRecorded',"
                        + " convert_to('{}', 'UTF8'), ?::jsonb)",
                    id,
                    "{\"traceparent\": \"00-zzzz-Ünicode\\r\\n-01\", \"tracestate\": \"x=1\"}"));
    OtlpReceiver.Received publish = awaitPublished(id);
    assertThat(publish.parentSpanId()).isEmpty();
    SpanData process = awaitProcessed(id);
    assertThat(process.getTraceId()).isEqualTo(publish.traceId());
    assertThat(process.getParentSpanId()).isEqualTo(publish.spanId());
    assertThat(handled).contains(id);
  }

  @Test
  void aRowWithoutTraceContextGetsANewTraceWhenTracingIsOn() {
    String id = "0190f0a0-0000-7000-8000-0000000000a2";
    infra
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type,"
                        + " payload) VALUES (?::uuid, 'meter', 'm-2', 'ReadingRecorded',"
                        + " convert_to('{}', 'UTF8'))",
                    id));
    OtlpReceiver.Received publish = awaitPublished(id);
    assertThat(publish.parentSpanId()).isEmpty();
    assertThat(awaitProcessed(id).getParentSpanId()).isEqualTo(publish.spanId());
  }

  @Test
  void aBadTracingEndpointStopsTheRelayAtStartNamingTheSetting() {
    Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream + "_bad", "bad");
    env.put("OUTBOXKIT_RELAY_TRACING_ENABLED", "true");
    env.put("OUTBOXKIT_RELAY_TRACING_ENDPOINT", "otel-collector:4317");
    try (RelayProcess bad = new RelayProcess(env).start()) {
      assertThat(bad.waitExit(Duration.ofSeconds(60))).isEqualTo(2);
      assertThat(bad.log())
          .contains("outboxkit.relay.tracing.endpoint")
          .contains("OUTBOXKIT_RELAY_TRACING_ENDPOINT");
    }
  }

  private static OtlpReceiver.Received awaitPublished(String id) {
    OtlpReceiver.Received[] found = new OtlpReceiver.Received[1];
    await()
        .atMost(WAIT)
        .until(
            () -> {
              for (OtlpReceiver.Received s : collector.spans()) {
                if (id.equals(s.attributes().get("messaging.message.id"))) {
                  found[0] = s;
                  return true;
                }
              }
              return false;
            });
    return found[0];
  }

  private static SpanData awaitProcessed(String id) {
    SpanData[] found = new SpanData[1];
    await()
        .atMost(WAIT)
        .until(
            () -> {
              for (SpanData s : local.getFinishedSpanItems()) {
                if (s.getName().startsWith("process ")
                    && id.equals(s.getAttributes().get(OutboxTracing.MESSAGE_ID))) {
                  found[0] = s;
                  return true;
                }
              }
              return false;
            });
    return found[0];
  }
}
