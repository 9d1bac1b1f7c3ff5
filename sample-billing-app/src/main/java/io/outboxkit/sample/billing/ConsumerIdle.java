package io.outboxkit.sample.billing;

import io.outboxkit.OutboxException;

/**
 * The guard of both reconciliations: a read model is compared only while its consumer has no event
 * pending in JetStream, right after the source of truth was read. An event still on its way would
 * otherwise look like a drift, and after the repair it would count twice.
 */
final class ConsumerIdle {
  private final Consumers consumers;

  ConsumerIdle(Consumers consumers) {
    this.consumers = consumers;
  }

  /** Throws (the window is compared again at the next run) unless {@code consumer} is idle. */
  void require(String consumer) {
    Long pending = consumers.pending(consumer);
    if (pending == null || pending != 0) {
      throw new OutboxException(
          "consumer '"
              + consumer
              + "' has "
              + (pending == null ? "an unknown number of (NATS not reachable)" : pending)
              + " events pending: its read model is compared when it has caught up");
    }
  }
}
