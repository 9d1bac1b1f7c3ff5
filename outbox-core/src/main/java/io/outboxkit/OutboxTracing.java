package io.outboxkit;

import io.nats.client.impl.Headers;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.util.List;
import java.util.Map;

/**
 * outboxkit's tracing vocabulary, one place for the writer, the consumer and the relay: the
 * attribute names of its spans (OpenTelemetry messaging conventions, plus a few of its own) and how
 * a trace context travels in NATS headers (first value of each header, names in any letter case).
 * Useful to a consumer that reads the stream without {@code OutboxConsumer}.
 *
 * <pre>{@code
 * TextMapPropagator w3c = W3CTraceContextPropagator.getInstance();
 * Span span = tracer.spanBuilder("process " + message.getSubject())
 *     .setParent(OutboxTracing.extract(w3c, message.getHeaders()))
 *     .setSpanKind(SpanKind.CONSUMER)
 *     .setAttribute(OutboxTracing.MESSAGE_ID, message.getHeaders().getFirst(OutboxHeaders.MSG_ID))
 *     .startSpan();
 * }</pre>
 */
public final class OutboxTracing {
  /** The instrumentation scope name of every outboxkit span. */
  public static final String SCOPE = "io.outboxkit";

  public static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("messaging.system");
  public static final AttributeKey<String> DESTINATION =
      AttributeKey.stringKey("messaging.destination.name");
  public static final AttributeKey<String> MESSAGE_ID =
      AttributeKey.stringKey("messaging.message.id");
  public static final AttributeKey<String> OPERATION_NAME =
      AttributeKey.stringKey("messaging.operation.name");
  public static final AttributeKey<String> OPERATION_TYPE =
      AttributeKey.stringKey("messaging.operation.type");
  public static final AttributeKey<String> CONSUMER_GROUP =
      AttributeKey.stringKey("messaging.consumer.group.name");
  public static final AttributeKey<Long> BODY_SIZE =
      AttributeKey.longKey("messaging.message.body.size");

  /** On a consumer span: the message was applied before, the handler did not run. */
  public static final AttributeKey<Boolean> DUPLICATE =
      AttributeKey.booleanKey("outboxkit.duplicate");

  /** On a relay span: the event went to the dead-letter subject, with this reason code. */
  public static final AttributeKey<String> DEAD_LETTER =
      AttributeKey.stringKey("outboxkit.dead_letter");

  /** The value of {@link #SYSTEM}. */
  public static final String NATS = "nats";

  private OutboxTracing() {}

  /**
   * The context a message's headers carry (first value of each, names in any letter case), on top
   * of the root context; the root context when they carry none or a malformed one.
   */
  public static Context extract(TextMapPropagator propagator, Headers headers) {
    if (headers == null) {
      return Context.root();
    }
    return propagator.extract(Context.root(), headers, HEADERS);
  }

  /**
   * Writes {@code context} into {@code headers}, first removing every header the propagator owns
   * ({@code traceparent}, {@code tracestate} for W3C) in any letter case, so that no stale value
   * stays beside a new one.
   */
  public static void inject(TextMapPropagator propagator, Context context, Headers headers) {
    for (String field : propagator.fields()) {
      for (String name : List.copyOf(headers.keySet())) {
        if (name.equalsIgnoreCase(field)) {
          headers.remove(name);
        }
      }
    }
    propagator.inject(context, headers, (h, k, v) -> h.put(k, v));
  }

  /** Writes {@code context} into {@code map} as the propagator spells it. */
  public static void inject(
      TextMapPropagator propagator, Context context, Map<String, String> map) {
    propagator.inject(context, map, (m, k, v) -> m.put(k, v));
  }

  private static final TextMapGetter<Headers> HEADERS =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers carrier) {
          return carrier.keySet();
        }

        @Override
        public String get(Headers carrier, String key) {
          if (carrier == null) {
            return null;
          }
          List<String> values = carrier.get(key);
          if (values == null) {
            values = carrier.getIgnoreCase(key); // header names are case-insensitive, as in HTTP
          }
          return values == null || values.isEmpty() ? null : values.get(0);
        }
      };
}
