package io.outboxkit.consumer;

import io.nats.client.Message;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.outboxkit.OutboxException;
import io.outboxkit.OutboxTracing;

/**
 * The consumer's spans: one {@code process <subject>} span of kind CONSUMER per message a
 * transaction applies, around its inbox insert and its handler, continuing the trace context the
 * message carries ({@code traceparent}, set by the relay's publish span). Off ({@link #OFF}) unless
 * the builder was given an {@link OpenTelemetry}.
 */
final class ConsumerTracing {
  static final ConsumerTracing OFF = new ConsumerTracing(null, null, null);

  private final Tracer tracer;
  private final TextMapPropagator propagator;
  private final String consumer;

  private ConsumerTracing(Tracer tracer, TextMapPropagator propagator, String consumer) {
    this.tracer = tracer;
    this.propagator = propagator;
    this.consumer = consumer;
  }

  static ConsumerTracing of(OpenTelemetry openTelemetry, String consumer) {
    return openTelemetry == null
        ? OFF
        : new ConsumerTracing(
            openTelemetry.getTracer(OutboxTracing.SCOPE),
            openTelemetry.getPropagators().getTextMapPropagator(),
            consumer);
  }

  /** A started span for {@code event}, child of the context its message carries; or a no-op. */
  Span start(Message message, InboundEvent event) {
    if (tracer == null) {
      return Span.getInvalid();
    }
    String subject = message.getSubject();
    return tracer
        .spanBuilder("process " + subject)
        .setParent(OutboxTracing.extract(propagator, message.getHeaders()))
        .setSpanKind(SpanKind.CONSUMER)
        .setAttribute(OutboxTracing.SYSTEM, OutboxTracing.NATS)
        .setAttribute(OutboxTracing.DESTINATION, subject)
        .setAttribute(OutboxTracing.MESSAGE_ID, event.id())
        .setAttribute(OutboxTracing.OPERATION_NAME, "process")
        .setAttribute(OutboxTracing.OPERATION_TYPE, "process")
        .setAttribute(OutboxTracing.CONSUMER_GROUP, consumer)
        .setAttribute(OutboxTracing.BODY_SIZE, (long) event.payload().length)
        .startSpan();
  }

  /** Marks {@code span} failed by {@code e} (the transaction rolls back). */
  static void failed(Span span, Throwable e) {
    if (span.isRecording()) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR, OutboxException.describe(e));
    }
  }
}
