package io.outboxkit.consumer;

import io.nats.client.Connection;
import io.outboxkit.Backoff;
import io.outboxkit.TableName;
import java.time.Duration;
import org.jdbi.v3.core.Jdbi;

/** The validated settings of one consumer, as {@link OutboxConsumerBuilder#build()} made them. */
record Settings(
    String name,
    Connection connection,
    Jdbi jdbi,
    String stream,
    EventHandler handler,
    String filterSubject,
    TableName inboxTable,
    int maxDeliveries,
    Backoff backoff,
    Duration ackWait,
    int maxAckPending,
    int batchSize,
    int transactionSize,
    String deadLetterSubject,
    Runnable afterCommit) {

  /**
   * The delay before a message comes again after failed delivery number {@code n}: the backoff's
   * jittered delay one step ahead, between half and all of {@code min(initial × 2^n, max)}, so that
   * the configured {@code initial} stays the shortest wait after a first failure.
   */
  Duration retryDelay(long deliveries) {
    long attempt = deliveries < 1 ? 2 : deliveries == Long.MAX_VALUE ? deliveries : deliveries + 1;
    return backoff.delay(attempt);
  }
}
