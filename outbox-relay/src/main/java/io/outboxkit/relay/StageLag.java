package io.outboxkit.relay;

import io.debezium.pipeline.DataChangeEvent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * Commit → each stage of the relay's pipeline, so that a lag can be traced to where it grows (meter
 * {@code outboxkit.relay.stage.lag}, tag {@code stage}; commit → JetStream ack is {@code
 * outboxkit.relay.lag}):
 *
 * <ol>
 *   <li>{@code decoded}: Debezium's streaming thread put the change into its queue (PostgreSQL's
 *       WAL sender, the network, pgoutput decoding, Debezium's per-row work, waiting for room in a
 *       full queue);
 *   <li>{@code dequeued}: the engine took it out of the queue (plus the wait in the queue: the poll
 *       interval, the batches ahead of it);
 *   <li>{@code batched}: the relay's batch handler got it (plus the engine's hand-off and the wait
 *       for the previous batch's acks).
 * </ol>
 *
 * Each is cumulative from the source transaction's commit time, so the percentiles of the stages
 * can be compared directly. The queue ({@link SpinFreeQueue}) is created by Debezium, not by the
 * relay; it finds its instance through the connector property {@link #PROPERTY}.
 */
final class StageLag {
  /** Connector property carrying the key under which the queue finds this instance. */
  static final String PROPERTY = "outboxkit.stage.lag.key";

  private static final Map<String, WeakReference<StageLag>> BY_KEY = new ConcurrentHashMap<>();

  private final String key = UUID.randomUUID().toString();
  private final Timer decoded;
  private final Timer dequeued;
  private final Timer batched;

  StageLag(MeterRegistry registry) {
    decoded = timer(registry, "decoded");
    dequeued = timer(registry, "dequeued");
    batched = timer(registry, "batched");
    BY_KEY.put(key, new WeakReference<>(this));
  }

  /** The instance registered under the key in {@code connectorProperties}, or null. */
  static StageLag of(Map<String, ?> connectorProperties) {
    Object key = connectorProperties.get(PROPERTY);
    WeakReference<StageLag> ref = key == null ? null : BY_KEY.get(key.toString());
    return ref == null ? null : ref.get();
  }

  String key() {
    return key;
  }

  void decoded(Object queued) {
    record(decoded, queued);
  }

  void dequeued(Object queued) {
    record(dequeued, queued);
  }

  void batched(SourceRecord record) {
    record(batched, record);
  }

  private static void record(Timer timer, Object event) {
    SourceRecord record =
        event instanceof DataChangeEvent d
            ? d.getRecord()
            : event instanceof SourceRecord r ? r : null;
    long commit = commitMicros(record);
    if (commit > 0) {
      timer.record(Math.max(0, System.currentTimeMillis() * 1000 - commit), TimeUnit.MICROSECONDS);
    }
  }

  /** The commit time (epoch µs) Debezium put in the record's source block, or 0. */
  private static long commitMicros(SourceRecord record) {
    return record != null
            && record.value() instanceof Struct value
            && value.schema().field("source") != null
        ? RowConverter.commitMicros(value.getStruct("source"))
        : 0;
  }

  private static Timer timer(MeterRegistry registry, String stage) {
    return Timer.builder("outboxkit.relay.stage.lag")
        .description("Time from the source transaction's commit to a stage of the relay's pipeline")
        .tag("stage", stage)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(5))
        .register(registry);
  }
}
