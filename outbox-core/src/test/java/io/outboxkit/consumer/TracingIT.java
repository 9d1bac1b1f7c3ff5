package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
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
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxSchema;
import io.outboxkit.OutboxTracing;
import io.outboxkit.Payload;
import io.outboxkit.TableName;
import io.outboxkit.consumer.ConsumerFixture.TestStream;
import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Tracing through outbox-core: the writer stores the current span's {@code traceparent} in the
 * outbox row's headers, and the consumer continues it in a CONSUMER span around the handler. The
 * relay's part is simulated by {@link TestRelay}, which carries the row's headers as they are (the
 * relay with tracing off); the relay's own publish span is tested in outbox-relay.
 */
class TracingIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static final Duration WAIT = Duration.ofSeconds(60);
  static final ObjectMapper JSON = new ObjectMapper();

  static ConsumerFixture fx;
  static InMemorySpanExporter spans;
  static OpenTelemetrySdk otel;

  @BeforeAll
  static void setUp() {
    fx = new ConsumerFixture(infra);
    fx.migrate();
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    spans = InMemorySpanExporter.create();
    otel =
        OpenTelemetrySdk.builder()
            .setTracerProvider(
                SdkTracerProvider.builder()
                    .addSpanProcessor(SimpleSpanProcessor.create(spans))
                    .build())
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
            .build();
  }

  @AfterAll
  static void tearDown() {
    otel.close();
  }

  @BeforeEach
  void reset() {
    spans.reset();
  }

  @AfterEach
  void closeConsumers() {
    fx.closeConsumers();
  }

  @Test
  void oneTraceCoversTheWriterAndTheConsumersHandler() {
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
                          OutboxEvent.of("meter", "m-ü", "ReadingRecorded", Map.of("kwh", 1.25))));
    } finally {
      request.end();
    }
    SpanContext writer = request.getSpanContext();
    Map<String, String> rowHeaders = rowHeaders(id);
    assertThat(rowHeaders)
        .containsEntry(
            OutboxHeaders.TRACEPARENT,
            "00-"
                + writer.getTraceId()
                + "-"
                + writer.getSpanId()
                + "-"
                + writer.getTraceFlags().asHex());

    TestStream stream = fx.stream();
    stream.relay().publish(asRelayed(id, rowHeaders));
    List<SpanContext> currentInHandler = new CopyOnWriteArrayList<>();
    fx.started(
        fx.consumer(
                stream, "traced", (h, e) -> currentInHandler.add(Span.current().getSpanContext()))
            .openTelemetry(otel));

    SpanData process = awaitSpan("process " + stream.subjectBase() + ".meter.ReadingRecorded");
    assertThat(process.getKind()).isEqualTo(SpanKind.CONSUMER);
    assertThat(process.getTraceId()).isEqualTo(writer.getTraceId());
    assertThat(process.getParentSpanId()).isEqualTo(writer.getSpanId());
    assertThat(process.getParentSpanContext().isRemote()).isTrue();
    assertThat(process.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    assertThat(process.getAttributes().get(OutboxTracing.SYSTEM)).isEqualTo("nats");
    assertThat(process.getAttributes().get(OutboxTracing.DESTINATION))
        .isEqualTo(stream.subjectBase() + ".meter.ReadingRecorded");
    assertThat(process.getAttributes().get(OutboxTracing.MESSAGE_ID)).isEqualTo(id.toString());
    assertThat(process.getAttributes().get(OutboxTracing.CONSUMER_GROUP)).isEqualTo("traced");
    assertThat(process.getAttributes().get(OutboxTracing.OPERATION_NAME)).isEqualTo("process");
    assertThat(process.getAttributes().get(OutboxTracing.DUPLICATE)).isNull();
    // The handler runs inside the span: its own spans (JDBC, HTTP) nest under it.
    assertThat(currentInHandler).hasSize(1);
    assertThat(currentInHandler.get(0).getSpanId()).isEqualTo(process.getSpanId());
  }

  @Test
  void aFailedHandlerMarksItsSpanAndTheRetryIsAnotherChildOfTheSameTrace() {
    Outbox outbox = Outbox.builder().openTelemetry(otel).build();
    Span request = otel.getTracer("test").spanBuilder("batch job").startSpan();
    UUID id;
    try (Scope ignored = request.makeCurrent()) {
      id =
          infra
              .jdbi()
              .inTransaction(
                  h -> outbox.write(h, OutboxEvent.of("meter", "m-2", "ReadingRecorded", "{}")));
    } finally {
      request.end();
    }
    TestStream stream = fx.stream();
    stream.relay().publish(asRelayed(id, rowHeaders(id)));
    fx.started(
        fx.consumer(
                stream,
                "flaky",
                (h, e) -> {
                  if (e.metadata().deliveries() == 1) {
                    throw new IllegalStateException("tariff service not ready");
                  }
                })
            .openTelemetry(otel));

    await().atMost(WAIT).until(() -> processSpans().size() >= 2 && fx.settled(stream, "flaky"));
    List<SpanData> process = processSpans();
    assertThat(process).hasSize(2);
    assertThat(process)
        .allSatisfy(
            s -> {
              assertThat(s.getTraceId()).isEqualTo(request.getSpanContext().getTraceId());
              assertThat(s.getParentSpanId()).isEqualTo(request.getSpanContext().getSpanId());
            });
    assertThat(process.get(0).getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(process.get(0).getStatus().getDescription()).contains("tariff service not ready");
    assertThat(process.get(0).getEvents()).anyMatch(ev -> ev.getName().equals("exception"));
    assertThat(process.get(1).getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
  }

  @Test
  void aRedeliveredDuplicateGetsASpanMarkedDuplicate() {
    TestStream stream = fx.stream(Duration.ofMillis(100));
    TestRelay.Event event =
        TestRelay.event("m-3", "{}")
            .withHeader(
                OutboxHeaders.TRACEPARENT,
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    stream.relay().publish(event);
    stream.relay().publishAgainAfterDuplicateWindow(event);
    fx.started(fx.consumer(stream, "dups", (h, e) -> {}).openTelemetry(otel));

    await().atMost(WAIT).until(() -> processSpans().size() >= 2 && fx.settled(stream, "dups"));
    List<SpanData> process = processSpans();
    assertThat(process).hasSize(2);
    assertThat(process)
        .allSatisfy(s -> assertThat(s.getTraceId()).isEqualTo("0af7651916cd43dd8448eb211c80319c"));
    assertThat(process.get(0).getAttributes().get(OutboxTracing.DUPLICATE)).isNull();
    assertThat(process.get(1).getAttributes().get(OutboxTracing.DUPLICATE)).isTrue();
  }

  @Test
  void tracingOffAddsNoHeaderAndMakesNoSpan() {
    Outbox plain = Outbox.builder().build();
    Span request = otel.getTracer("test").spanBuilder("request").startSpan();
    UUID id;
    try (Scope ignored = request.makeCurrent()) {
      id =
          infra
              .jdbi()
              .inTransaction(
                  h -> plain.write(h, OutboxEvent.of("meter", "m-4", "ReadingRecorded", "{}")));
    } finally {
      request.end();
    }
    assertThat(rowHeaders(id)).doesNotContainKey(OutboxHeaders.TRACEPARENT);

    spans.reset();
    TestStream stream = fx.stream();
    stream.relay().publish(asRelayed(id, rowHeaders(id)));
    stream
        .relay()
        .publish(
            TestRelay.event("m-5", "{}")
                .withHeader(
                    OutboxHeaders.TRACEPARENT,
                    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    fx.started(fx.consumer(stream, "untraced", (h, e) -> {}));
    await().atMost(WAIT).until(() -> fx.inboxRows("untraced") == 2);
    assertThat(spans.getFinishedSpanItems()).isEmpty();
  }

  @Test
  void theWritersOwnTraceparentWinsAndNoCurrentSpanAddsNothing() {
    Outbox outbox = Outbox.builder().openTelemetry(otel).build();
    String own = "00-11111111111111111111111111111111-2222222222222222-01";
    Span request = otel.getTracer("test").spanBuilder("request").startSpan();
    UUID explicit;
    try (Scope ignored = request.makeCurrent()) {
      explicit =
          infra
              .jdbi()
              .inTransaction(
                  h ->
                      outbox.write(
                          h,
                          OutboxEvent.of("meter", "m-6", "ReadingRecorded", "{}")
                              .withHeader(OutboxHeaders.TRACEPARENT, own)));
    } finally {
      request.end();
    }
    assertThat(rowHeaders(explicit)).containsEntry(OutboxHeaders.TRACEPARENT, own);

    UUID noSpan =
        infra
            .jdbi()
            .inTransaction(
                h -> outbox.write(h, OutboxEvent.of("meter", "m-7", "ReadingRecorded", "{}")));
    assertThat(rowHeaders(noSpan)).doesNotContainKey(OutboxHeaders.TRACEPARENT);
  }

  @Test
  void aMalformedTraceparentStartsANewTraceAndTheMessageIsApplied() {
    TestStream stream = fx.stream();
    List<String> hostile =
        List.of(
            "00-not-a-trace-context-ü\r\n",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "x".repeat(4000));
    for (String value : hostile) {
      stream
          .relay()
          .publish(TestRelay.event("m-8", "{}").withHeader(OutboxHeaders.TRACEPARENT, value));
    }
    fx.started(fx.consumer(stream, "hostile", (h, e) -> {}).openTelemetry(otel));
    await()
        .atMost(WAIT)
        .until(() -> fx.inboxRows("hostile") == hostile.size() && processSpans().size() == 4);
    assertThat(processSpans())
        .allSatisfy(
            s -> {
              assertThat(s.getParentSpanContext().isValid()).isFalse();
              assertThat(s.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
            });
  }

  @Test
  void walMessageModeCarriesTheTraceparentToo() {
    Outbox wal = Outbox.builder().mode(Outbox.Mode.WAL_MESSAGE).openTelemetry(otel).build();
    Span request = otel.getTracer("test").spanBuilder("request").startSpan();
    String slot = "tracing_" + Long.toHexString(System.nanoTime());
    infra
        .jdbi()
        .useHandle(
            h ->
                h.select("SELECT pg_create_logical_replication_slot(?, 'test_decoding')", slot)
                    .mapToMap()
                    .one());
    try {
      try (Scope ignored = request.makeCurrent()) {
        infra
            .jdbi()
            .useTransaction(
                h ->
                    wal.write(
                        h,
                        new OutboxEvent(
                            "meter", "m-9", "ReadingRecorded", Payload.json("{}"), Map.of())));
      } finally {
        request.end();
      }
      // The envelope is binary: read it as bytes, then look for the header's text in them.
      List<byte[]> data =
          infra
              .jdbi()
              .withHandle(
                  h ->
                      h.select(
                              "SELECT data FROM pg_logical_slot_get_binary_changes(?, NULL, NULL)",
                              slot)
                          .mapTo(byte[].class)
                          .list());
      StringBuilder changes = new StringBuilder();
      data.forEach(b -> changes.append(new String(b, StandardCharsets.ISO_8859_1)).append('\n'));
      assertThat(changes.toString())
          .contains(
              "00-"
                  + request.getSpanContext().getTraceId()
                  + "-"
                  + request.getSpanContext().getSpanId()
                  + "-"
                  + request.getSpanContext().getTraceFlags().asHex());
    } finally {
      infra.jdbi().useHandle(h -> h.execute("SELECT pg_drop_replication_slot(?)", slot));
    }
  }

  private static Map<String, String> rowHeaders(UUID id) {
    String json =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.select("SELECT headers::text FROM public.outbox WHERE id = ?", id)
                        .mapTo(String.class)
                        .one());
    if (json == null) {
      return Map.of();
    }
    try {
      return JSON.readValue(json, new TypeReference<Map<String, String>>() {});
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The row as the relay (tracing off) publishes it: its id, routing and its own headers. */
  private static TestRelay.Event asRelayed(UUID id, Map<String, String> headers) {
    return new TestRelay.Event(
        id.toString(),
        "meter",
        "m",
        "ReadingRecorded",
        "{}".getBytes(StandardCharsets.UTF_8),
        headers,
        Instant.now());
  }

  private static List<SpanData> processSpans() {
    return spans.getFinishedSpanItems().stream()
        .filter(s -> s.getName().startsWith("process "))
        .toList();
  }

  private static SpanData awaitSpan(String name) {
    SpanData[] found = new SpanData[1];
    await()
        .atMost(WAIT)
        .until(
            () -> {
              for (SpanData s : spans.getFinishedSpanItems()) {
                if (s.getName().equals(name)) {
                  found[0] = s;
                  return true;
                }
              }
              return false;
            });
    return found[0];
  }
}
