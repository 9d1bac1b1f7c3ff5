package io.outboxkit.relay;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** The relay's meters; names and meanings are in the README's operations section. */
@Singleton
final class RelayMetrics {
  private final MeterRegistry registry;
  private final Counter published;
  private final Counter duplicates;
  private final Counter retries;
  private final Counter engineRestarts;
  private final Counter replaysSkipped;
  private final DistributionSummary batchSize;
  private final Timer lag;
  final StageLag stages;
  final AtomicInteger inFlight = new AtomicInteger();
  final AtomicLong retainedWalBytes = new AtomicLong(-1);

  /** When {@link #retainedWalBytes} was last measured (epoch millis), 0 before. */
  final AtomicLong retainedWalMeasuredMillis = new AtomicLong();

  final AtomicLong lastHeartbeatMillis = new AtomicLong(System.currentTimeMillis());
  final AtomicInteger active = new AtomicInteger();
  final AtomicLong lastCommitMicros = new AtomicLong();
  final AtomicLong epoch = new AtomicLong();

  /** Acks and commit → ack latencies of the last minute, for the status page. */
  final LagWindow recent = new LagWindow(60, 10, System.currentTimeMillis());

  RelayMetrics(MeterRegistry registry) {
    this.registry = registry;
    published =
        Counter.builder("outboxkit.relay.events.published")
            .description("Outbox events acknowledged by JetStream")
            .register(registry);
    duplicates =
        Counter.builder("outboxkit.relay.events.duplicates")
            .description("Publishes JetStream acknowledged as duplicates (replays after a restart)")
            .register(registry);
    retries =
        Counter.builder("outboxkit.relay.publish.retries")
            .description("Batch publish attempts retried after a failed or timed-out publish")
            .register(registry);
    engineRestarts =
        Counter.builder("outboxkit.relay.engine.restarts")
            .description("Restarts of the Debezium engine after a failure")
            .register(registry);
    replaysSkipped =
        Counter.builder("outboxkit.relay.events.replays.skipped")
            .description(
                "Replayed events not published again because the stream already holds them")
            .register(registry);
    batchSize =
        DistributionSummary.builder("outboxkit.relay.batch.size")
            .description("Records per Debezium batch")
            .register(registry);
    lag =
        Timer.builder("outboxkit.relay.lag")
            .description("Time from the source transaction's commit to the JetStream ack")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofMinutes(5))
            .register(registry);
    stages = new StageLag(registry);
    Gauge.builder("outboxkit.relay.publish.in.flight", inFlight, AtomicInteger::get)
        .description("Publishes sent and not yet acknowledged")
        .register(registry);
    Gauge.builder("outboxkit.relay.slot.retained.wal", retainedWalBytes, AtomicLong::get)
        .description("Bytes of WAL the replication slot keeps (-1 until known)")
        .baseUnit("bytes")
        .register(registry);
    Gauge.builder(
            "outboxkit.relay.heartbeat.age",
            lastHeartbeatMillis,
            t -> (System.currentTimeMillis() - t.get()) / 1000.0)
        .description("Seconds since the relay last saw its own heartbeat come through the WAL")
        .baseUnit("seconds")
        .register(registry);
    Gauge.builder("outboxkit.relay.active", active, AtomicInteger::get)
        .description("1 when this relay holds the slot's lock and streams, 0 on standby")
        .register(registry);
    Gauge.builder("outboxkit.relay.leader.epoch", epoch, AtomicLong::get)
        .description("The slot's leader epoch this relay last led as (0 before it first led)")
        .register(registry);
  }

  /** Registers the gauge of the lease's remaining time. */
  void lease(Lease lease) {
    Gauge.builder("outboxkit.relay.lease.remaining", lease, l -> l.remaining().toMillis() / 1000.0)
        .description("Seconds left of this relay's lease on the slot (0 on standby)")
        .baseUnit("seconds")
        .register(registry);
  }

  void acked(long commitMicros, boolean duplicate) {
    published.increment();
    if (duplicate) {
      duplicates.increment();
    }
    long now = System.currentTimeMillis();
    long micros = -1;
    if (commitMicros > 0) {
      micros = Math.max(0, now * 1000 - commitMicros);
      lag.record(micros, TimeUnit.MICROSECONDS);
    }
    recent.record(now, micros);
  }

  /** Events acknowledged since start (duplicates included). */
  long publishedTotal() {
    return (long) published.count();
  }

  /** Acks that were duplicates since start. */
  long duplicatesTotal() {
    return (long) duplicates.count();
  }

  /** Rows dead-lettered since start, by kind ({@code reserved_header}, …), sorted by kind. */
  Map<String, Long> deadLettersByKind() {
    Map<String, Long> byKind = new TreeMap<>();
    for (Counter c : registry.find("outboxkit.relay.dead.letters").counters()) {
      String kind = c.getId().getTag("reason");
      byKind.merge(kind == null ? "unknown" : kind, (long) c.count(), Long::sum);
    }
    return byKind;
  }

  /** A measurement of the slot's retained WAL. */
  void retainedWal(long bytes) {
    retainedWalBytes.set(bytes);
    retainedWalMeasuredMillis.set(System.currentTimeMillis());
  }

  void retry() {
    retries.increment();
  }

  void publishError(String kind) {
    registry.counter("outboxkit.relay.publish.errors", "kind", kind).increment();
  }

  void deadLetter(String reason) {
    registry.counter("outboxkit.relay.dead.letters", "reason", reason).increment();
  }

  void batch(int size) {
    batchSize.record(size);
  }

  void replaySkipped() {
    replaysSkipped.increment();
  }

  /** Registers the gauge of engine failures since events last flowed. */
  void consecutiveFailures(AtomicInteger failures) {
    Gauge.builder("outboxkit.relay.engine.consecutive.failures", failures, AtomicInteger::get)
        .description("Engine failures (and failed starts) since events or checkpoints last flowed")
        .register(registry);
  }

  void engineRestart() {
    engineRestarts.increment();
  }

  void heartbeat() {
    lastHeartbeatMillis.set(System.currentTimeMillis());
  }
}
