package io.outboxkit.consumer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Micrometer meters of one consumer. The only class of outbox-core that references Micrometer (an
 * optional dependency): it is loaded only when the builder was given a registry.
 */
final class MicrometerConsumerMetrics implements ConsumerMetrics {
  private final MeterRegistry registry;
  private final Map<Outcome, Counter> counters = new EnumMap<>(Outcome.class);
  private final Timer transaction;
  private final Timer lag;
  private final Gauge lastCommit;
  // Micros since the epoch of the last applied event's commit; Long.MIN_VALUE until one.
  private final AtomicLong lastCommitMicros = new AtomicLong(Long.MIN_VALUE);

  /** {@code registry} is typed Object so that callers never name a Micrometer type. */
  static ConsumerMetrics create(Object registry, String consumer) {
    return new MicrometerConsumerMetrics((MeterRegistry) registry, consumer);
  }

  private MicrometerConsumerMetrics(MeterRegistry registry, String consumer) {
    this.registry = registry;
    for (Outcome outcome : Outcome.values()) {
      counters.put(
          outcome,
          Counter.builder("outboxkit.consumer.messages")
              .description("Deliveries handled by the outbox consumer, by outcome")
              .tag("consumer", consumer)
              .tag("outcome", outcome.tag)
              .register(registry));
    }
    transaction =
        Timer.builder("outboxkit.consumer.handle")
            .description("One inbox transaction: inbox insert, handler, commit or rollback")
            .tag("consumer", consumer)
            .register(registry);
    lag =
        Timer.builder("outboxkit.consumer.lag")
            .description("From the source commit (Outbox-Commit-Us) to the consumer's commit")
            .tag("consumer", consumer)
            .register(registry);
    lastCommit =
        Gauge.builder(
                "outboxkit.consumer.last.applied.commit.time",
                lastCommitMicros,
                micros -> micros.get() == Long.MIN_VALUE ? Double.NaN : micros.get() / 1e6)
            .description(
                "Source commit time of the last applied event, seconds since the epoch;"
                    + " now minus this is how far behind the consumer is while events flow")
            .baseUnit("seconds")
            .tag("consumer", consumer)
            .strongReference(true)
            .register(registry);
  }

  @Override
  public void outcome(Outcome outcome) {
    counters.get(outcome).increment();
  }

  @Override
  public void transaction(long nanos) {
    transaction.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void applied(Instant committedAt) {
    if (committedAt == null) {
      return;
    }
    long micros = committedAt.getEpochSecond() * 1_000_000L + committedAt.getNano() / 1_000;
    lastCommitMicros.accumulateAndGet(micros, Math::max);
    Duration behind = Duration.between(committedAt, Instant.now());
    if (!behind.isNegative()) {
      lag.record(behind);
    }
  }

  @Override
  public void close() {
    registry.remove(lastCommit);
  }
}
