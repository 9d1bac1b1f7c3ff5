package io.outboxkit.bench;

import io.nats.client.Connection;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.TableName;
import io.outboxkit.consumer.InboundEvent;
import io.outboxkit.consumer.OutboxConsumer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Jdbi;

/**
 * Consumers applying the events through outbox-core's {@link OutboxConsumer} (inbox row, effect,
 * commit, ack), timed from the commit in PostgreSQL to the moment the consumer's transaction
 * committed (Jdbi's after-commit callback). Several instances share one durable consumer.
 */
final class ApplyProbe implements AutoCloseable {
  private final List<OutboxConsumer> consumers = new ArrayList<>();
  private final Latency applied = new Latency();
  private final AtomicLong count = new AtomicLong();
  private final AtomicLong firstAppliedMicros = new AtomicLong(Long.MAX_VALUE);
  private final AtomicLong lastAppliedMicros = new AtomicLong();

  /**
   * @param effect a table {@code (id text, commit_us bigint)} the handler inserts into: the
   *     consumer's business effect
   */
  ApplyProbe(
      Connection nc,
      Jdbi jdbi,
      String stream,
      String subject,
      String name,
      String deadLetterSubject,
      TableName inbox,
      String effect,
      CommitClock clock,
      AtomicLong measureFromMicros,
      int instances) {
    String insert = "INSERT INTO " + effect + " (id, commit_us) VALUES (?, ?)";
    try {
      for (int i = 0; i < instances; i++) {
        consumers.add(
            OutboxConsumer.builder().name(name).connection(nc).jdbi(jdbi).stream(stream)
                .filterSubject(subject)
                .inboxTable(inbox)
                .deadLetterSubject(deadLetterSubject)
                .handler(
                    (handle, event) -> {
                      long commit = commitMicros(clock, event);
                      handle.execute(insert, event.id(), commit);
                      handle.afterCommit(
                          () -> {
                            long now = Clock.nowMicros();
                            firstAppliedMicros.accumulateAndGet(now, Math::min);
                            lastAppliedMicros.accumulateAndGet(now, Math::max);
                            count.incrementAndGet();
                            if (commit >= measureFromMicros.get()) {
                              applied.record(now - commit);
                            }
                          });
                    })
                .build()
                .start());
      }
    } catch (RuntimeException e) {
      close();
      throw new BenchException("cannot start the consumers: " + e.getMessage(), e);
    }
  }

  private static long commitMicros(CommitClock clock, InboundEvent event) {
    long c = clock.commitMicros(event.headers().get(OutboxHeaders.COMMIT_TIME), event.payload());
    if (c < 0) {
      throw new IllegalStateException("event " + event.id() + " carries no commit time");
    }
    return c;
  }

  /** Waits until {@code n} events were applied; fails after {@code stall} without progress. */
  void await(long n, Duration stall, Duration max, String what) {
    Clock.awaitProgress(
        count::get,
        n,
        stall,
        max,
        10,
        (c, idle) ->
            what
                + ": the consumers applied "
                + c
                + " of "
                + n
                + " events; no progress for "
                + idle
                + " s");
  }

  /** Events applied per second, first to last applied event. */
  double rate() {
    double seconds = (lastAppliedMicros.get() - firstAppliedMicros.get()) / 1e6;
    return seconds > 0 ? count.get() / seconds : Double.NaN;
  }

  Latency.Percentiles applied() {
    return applied.percentiles();
  }

  @Override
  public void close() {
    consumers.forEach(OutboxConsumer::close);
  }
}
