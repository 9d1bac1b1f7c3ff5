package io.outboxkit.relay;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's OpenTelemetry SDK, made from {@code outboxkit.relay.tracing.*} when tracing is on:
 * W3C trace context, a parent-based sampler (a row's sampled {@code traceparent} is always
 * followed, new traces at {@code sample-ratio}), spans batched in memory and exported by OTLP over
 * HTTP (protobuf). Export never holds up publishing: when the collector is slow or away, spans past
 * the batch queue (2048) are dropped, never events.
 */
final class RelayTracing implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RelayTracing.class);
  private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");

  private final OpenTelemetrySdk sdk;
  private final PublishTracing publish;

  private RelayTracing(OpenTelemetrySdk sdk) {
    this.sdk = sdk;
    this.publish = sdk == null ? PublishTracing.OFF : new PublishTracing(sdk);
  }

  /** Off unless {@code tracing.enabled}; the settings are checked by {@link RelaySettings}. */
  static RelayTracing of(RelayConfig.Tracing tracing) {
    if (!tracing.enabled()) {
      return new RelayTracing(null);
    }
    OtlpHttpSpanExporter exporter =
        OtlpHttpSpanExporter.builder()
            .setEndpoint(tracing.endpoint())
            .setTimeout(tracing.exportTimeout())
            .build();
    SdkTracerProvider provider =
        SdkTracerProvider.builder()
            .setResource(
                Resource.getDefault()
                    .merge(Resource.create(Attributes.of(SERVICE_NAME, tracing.serviceName()))))
            .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(tracing.sampleRatio())))
            .addSpanProcessor(BatchSpanProcessor.builder(exporter).build())
            .build();
    log.info(
        "tracing on: publish spans exported to {} as service {} (new traces sampled at {})",
        Redact.url(tracing.endpoint()),
        tracing.serviceName(),
        tracing.sampleRatio());
    return new RelayTracing(
        OpenTelemetrySdk.builder()
            .setTracerProvider(provider)
            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
            .build());
  }

  PublishTracing publish() {
    return publish;
  }

  /**
   * Exports what is buffered, waiting at most 5 s (so that a collector that is away cannot stretch
   * a stop past the drain's budget), then stops the SDK.
   */
  @Override
  public void close() {
    if (sdk != null) {
      sdk.getSdkTracerProvider().shutdown().join(5, TimeUnit.SECONDS);
    }
  }
}
