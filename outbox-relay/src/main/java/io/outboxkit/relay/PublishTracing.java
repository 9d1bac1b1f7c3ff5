package io.outboxkit.relay;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.outboxkit.OutboxException;
import io.outboxkit.OutboxTracing;
import java.util.List;

/**
 * The relay's spans: one {@code publish <subject>} span of kind PRODUCER per event, a child of the
 * trace context in the row's {@code traceparent} header (a root span when it has none or a
 * malformed one), from the start of the batch's publish until every message of the batch is
 * acknowledged. The message leaves with the span's own {@code traceparent} (and {@code tracestate})
 * in place of the row's, so the consumer's span becomes its child. Dead letters made before the
 * publish (rows that cannot be published) get no span; an event that becomes a dead letter during
 * the publish (too large, refused by the stream) ends its span with status ERROR.
 *
 * <p>{@link #OFF} touches nothing: no span, and the row's headers travel as they are.
 */
final class PublishTracing {
  static final PublishTracing OFF = new PublishTracing(null);

  private static final Spans NONE = new Spans(null);

  private final Tracer tracer;
  private final TextMapPropagator propagator;

  /**
   * @param openTelemetry where the spans go; null for {@link #OFF}
   */
  PublishTracing(OpenTelemetry openTelemetry) {
    this.tracer = openTelemetry == null ? null : openTelemetry.getTracer(OutboxTracing.SCOPE);
    this.propagator =
        openTelemetry == null ? null : openTelemetry.getPropagators().getTextMapPropagator();
  }

  /** Starts a span per event of {@code batch} and puts its trace context in the event's headers. */
  Spans start(List<OutboundMessage> batch) {
    if (tracer == null || batch.isEmpty()) {
      return NONE;
    }
    Span[] spans = new Span[batch.size()];
    for (int i = 0; i < spans.length; i++) {
      OutboundMessage m = batch.get(i);
      if (m.isDeadLetter()) {
        continue;
      }
      Span span =
          tracer
              .spanBuilder("publish " + m.subject())
              .setParent(OutboxTracing.extract(propagator, m.headers()))
              .setSpanKind(SpanKind.PRODUCER)
              .setAttribute(OutboxTracing.SYSTEM, OutboxTracing.NATS)
              .setAttribute(OutboxTracing.DESTINATION, m.subject())
              .setAttribute(OutboxTracing.MESSAGE_ID, m.id())
              .setAttribute(OutboxTracing.OPERATION_NAME, "publish")
              .setAttribute(OutboxTracing.OPERATION_TYPE, "send")
              .setAttribute(OutboxTracing.BODY_SIZE, (long) m.payload().length)
              .startSpan();
      OutboxTracing.inject(propagator, Context.root().with(span), m.headers());
      spans[i] = span;
    }
    return new Spans(spans);
  }

  /** The spans of one batch, ended when the batch is acknowledged or given up. */
  static final class Spans {
    private final Span[] spans;

    private Spans(Span[] spans) {
      this.spans = spans;
    }

    /**
     * Every message of {@code batch} (the list given to {@link #start}, where the publisher may
     * have put dead letters in place of events) is acknowledged.
     */
    void published(List<OutboundMessage> batch) {
      if (spans == null) {
        return;
      }
      for (int i = 0; i < spans.length; i++) {
        Span span = spans[i];
        if (span == null) {
          continue;
        }
        OutboundMessage m = batch.get(i);
        if (m.isDeadLetter()) {
          span.setAttribute(OutboxTracing.DEAD_LETTER, m.deadLetterKind());
          span.setStatus(StatusCode.ERROR, "dead-lettered: " + m.deadLetterKind());
        }
        span.end();
      }
    }

    /** The batch was not published (the relay is stopping, or a fatal error). */
    void failed(Throwable e) {
      if (spans == null) {
        return;
      }
      for (Span span : spans) {
        if (span != null) {
          span.setStatus(StatusCode.ERROR, OutboxException.describe(e));
          span.end();
        }
      }
    }
  }
}
