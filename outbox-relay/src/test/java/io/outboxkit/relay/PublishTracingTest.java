package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.impl.Headers;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxTracing;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The relay's publish spans, on messages made by the relay's own {@link RowConverter} from rows
 * with and without trace context, recorded by an in-memory exporter.
 */
class PublishTracingTest {
  static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
  static final String WRITER_SPAN = "b7ad6b7169203331";
  static final String TRACEPARENT = "00-" + TRACE + "-" + WRITER_SPAN + "-01";

  final InMemorySpanExporter spans = InMemorySpanExporter.create();
  final OpenTelemetrySdk otel =
      OpenTelemetrySdk.builder()
          .setTracerProvider(
              SdkTracerProvider.builder()
                  .addSpanProcessor(SimpleSpanProcessor.create(spans))
                  .build())
          .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
          .build();
  final RowConverter converter =
      new RowConverter(
          SubjectTemplate.parse("outbox.{aggregate_type}.{event_type}"),
          new DeadLetters("outbox-dlq.relay"),
          "outboxkit-events",
          ColumnMap.OUTBOXKIT);

  @AfterEach
  void close() {
    otel.close();
  }

  OutboundMessage row(String id, String headersJson) {
    return converter.event(
        id,
        "meter",
        "m-1",
        "ReadingRecorded",
        "{\"kwh\":1.5}".getBytes(StandardCharsets.UTF_8),
        headersJson,
        1_700_000_000_000_000L,
        42);
  }

  @Test
  void thePublishSpanContinuesTheRowsTraceAndTheMessageCarriesItsOwnTraceparent() {
    List<OutboundMessage> batch =
        new ArrayList<>(
            List.of(
                row(
                    "01900000-0000-7000-8000-000000000001",
                    "{\"traceparent\": \""
                        + TRACEPARENT
                        + "\", \"tracestate\": \"vendor=1\","
                        + " \"baggage\": \"tenant=ü\"}")));
    PublishTracing.Spans started = new PublishTracing(otel).start(batch);
    started.published(batch);

    assertThat(spans.getFinishedSpanItems()).hasSize(1);
    SpanData span = spans.getFinishedSpanItems().get(0);
    assertThat(span.getName()).isEqualTo("publish outbox.meter.ReadingRecorded");
    assertThat(span.getKind()).isEqualTo(SpanKind.PRODUCER);
    assertThat(span.getTraceId()).isEqualTo(TRACE);
    assertThat(span.getParentSpanId()).isEqualTo(WRITER_SPAN);
    assertThat(span.getParentSpanContext().isRemote()).isTrue();
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    assertThat(span.getAttributes().get(OutboxTracing.SYSTEM)).isEqualTo("nats");
    assertThat(span.getAttributes().get(OutboxTracing.DESTINATION))
        .isEqualTo("outbox.meter.ReadingRecorded");
    assertThat(span.getAttributes().get(OutboxTracing.MESSAGE_ID))
        .isEqualTo("01900000-0000-7000-8000-000000000001");
    assertThat(span.getAttributes().get(OutboxTracing.OPERATION_NAME)).isEqualTo("publish");

    Headers h = batch.get(0).headers();
    assertThat(h.get(OutboxHeaders.TRACEPARENT))
        .containsExactly("00-" + TRACE + "-" + span.getSpanId() + "-01"); // the row's flags
    assertThat(h.get("tracestate")).containsExactly("vendor=1");
    // Other row headers travel untouched (encoded as ever).
    assertThat(h.getFirst("baggage")).isEqualTo("UTF-8''tenant=%C3%BC");
    assertThat(h.getFirst(OutboxHeaders.MSG_ID)).isEqualTo("01900000-0000-7000-8000-000000000001");
  }

  @Test
  void aRowWithoutOrWithAMalformedTraceparentStartsANewTraceAndStillFlows() {
    List<String> headers = new ArrayList<>();
    headers.add(null);
    headers.add("{\"traceparent\": \"00-not-a-trace-context\", \"tracestate\": \"stale=1\"}");
    headers.add("{\"traceparent\": \"00-" + TRACE + "-0000000000000000-01\"}");
    headers.add("{\"traceparent\": \"Zürich\\r\\n\"}");
    headers.add("{\"Traceparent\": \"" + TRACEPARENT + "\"}");
    List<OutboundMessage> batch = new ArrayList<>();
    for (int i = 0; i < headers.size(); i++) {
      batch.add(row("01900000-0000-7000-8000-00000000001" + i, headers.get(i)));
    }
    assertThat(batch).noneMatch(OutboundMessage::isDeadLetter);
    new PublishTracing(otel).start(batch).published(batch);

    assertThat(spans.getFinishedSpanItems()).hasSize(headers.size());
    for (int i = 0; i < batch.size() - 1; i++) {
      SpanData span = spans.getFinishedSpanItems().get(i);
      assertThat(span.getParentSpanContext().isValid()).as(headers.get(i)).isFalse();
      Headers h = batch.get(i).headers();
      assertThat(h.get(OutboxHeaders.TRACEPARENT))
          .as(headers.get(i))
          .containsExactly(
              "00-"
                  + span.getTraceId()
                  + "-"
                  + span.getSpanId()
                  + "-"
                  + span.getSpanContext().getTraceFlags().asHex());
      assertThat(h.get("tracestate")).as("no stale tracestate beside a new traceparent").isNull();
    }
    // Header names are case-insensitive: a row's Traceparent is followed, and replaced.
    SpanData last = spans.getFinishedSpanItems().get(batch.size() - 1);
    assertThat(last.getParentSpanId()).isEqualTo(WRITER_SPAN);
    Headers h = batch.get(batch.size() - 1).headers();
    assertThat(h.keySet()).contains(OutboxHeaders.TRACEPARENT).doesNotContain("Traceparent");
  }

  @Test
  void tracingOffLeavesTheHeadersAsTheRowHasThemAndInventsNothing() {
    List<OutboundMessage> batch =
        new ArrayList<>(
            List.of(
                row("01900000-0000-7000-8000-000000000001", null),
                row(
                    "01900000-0000-7000-8000-000000000002",
                    "{\"traceparent\": \"" + TRACEPARENT + "\"}")));
    PublishTracing.OFF.start(batch).published(batch);
    assertThat(batch.get(0).headers().get(OutboxHeaders.TRACEPARENT)).isNull();
    assertThat(batch.get(1).headers().get(OutboxHeaders.TRACEPARENT)).containsExactly(TRACEPARENT);
    assertThat(spans.getFinishedSpanItems()).isEmpty();
  }

  @Test
  void anEventThatBecomesADeadLetterEndsItsSpanAsAnError() {
    DeadLetters deadLetters = new DeadLetters("outbox-dlq.relay");
    OutboundMessage invalid =
        converter.event(
            "01900000-0000-7000-8000-000000000009",
            "meter",
            "m-1",
            "ReadingRecorded",
            null,
            null,
            0,
            42);
    assertThat(invalid.isDeadLetter()).isTrue();
    List<OutboundMessage> batch =
        new ArrayList<>(
            List.of(
                row(
                    "01900000-0000-7000-8000-000000000001",
                    "{\"traceparent\": \"" + TRACEPARENT + "\"}"),
                invalid));
    PublishTracing.Spans started = new PublishTracing(otel).start(batch);
    // What the publisher does with an event over the size limit: its dead letter takes its place.
    batch.set(0, deadLetters.of(batch.get(0), "payload_too_large", "too large", 1024 * 1024));
    started.published(batch);

    assertThat(spans.getFinishedSpanItems()).as("none for a row dead-lettered before").hasSize(1);
    SpanData span = spans.getFinishedSpanItems().get(0);
    assertThat(span.getTraceId()).isEqualTo(TRACE);
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(span.getAttributes().get(OutboxTracing.DEAD_LETTER)).isEqualTo("payload_too_large");
  }

  @Test
  void aBatchGivenUpEndsEverySpanAsAnError() {
    List<OutboundMessage> batch =
        new ArrayList<>(List.of(row("01900000-0000-7000-8000-000000000001", null)));
    new PublishTracing(otel).start(batch).failed(new InterruptedException("relay stopping"));
    assertThat(spans.getFinishedSpanItems()).hasSize(1);
    assertThat(spans.getFinishedSpanItems().get(0).getStatus().getStatusCode())
        .isEqualTo(StatusCode.ERROR);
  }
}
