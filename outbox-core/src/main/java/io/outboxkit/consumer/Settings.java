package io.outboxkit.consumer;

import io.nats.client.Connection;
import io.outboxkit.TableName;
import java.time.Duration;
import org.jdbi.v3.core.Jdbi;

/** The validated settings of one consumer, as {@link OutboxConsumer.Builder#build()} made them. */
record Settings(
    String name,
    Connection connection,
    Jdbi jdbi,
    String stream,
    EventHandler handler,
    String filterSubject,
    TableName inboxTable,
    int maxDeliveries,
    Duration backoffInitial,
    Duration backoffMax,
    Duration ackWait,
    int maxAckPending,
    int batchSize,
    int transactionSize,
    String deadLetterSubject,
    Runnable afterCommit) {

  /**
   * The delay before retry after failed delivery number {@code deliveries}: the initial backoff,
   * doubled for each earlier delivery, at most the maximum.
   */
  Duration backoff(long deliveries) {
    long initial = backoffInitial.toMillis();
    long max = backoffMax.toMillis();
    long n = Math.max(0, deliveries - 1);
    long delay = n >= 62 || initial > (max >> Math.min(n, 62)) ? max : initial << n;
    return Duration.ofMillis(Math.min(delay, max));
  }
}
