package io.outboxkit.consumer;

import java.time.Instant;

/**
 * What the consumer reports. The no-op default keeps Micrometer off the class path; {@link
 * MicrometerConsumerMetrics}, the only class that touches Micrometer, is loaded only when a
 * registry is given.
 */
interface ConsumerMetrics extends AutoCloseable {

  /** What became of one delivery. Tag values of {@code outboxkit.consumer.messages}. */
  enum Outcome {
    /** The handler ran and its transaction committed. */
    APPLIED("applied"),
    /** The inbox already had the id: nothing applied, acked. */
    DUPLICATE("duplicate"),
    /** Rolled back and released for a later retry. */
    FAILED("failed"),
    /** Published to the dead-letter subject and terminated. */
    DEAD_LETTERED("dead_lettered"),
    /** A dead-letter copy met on the consumed subjects: acked without handling. */
    SKIPPED("skipped");

    final String tag;

    Outcome(String tag) {
      this.tag = tag;
    }
  }

  ConsumerMetrics NOOP =
      new ConsumerMetrics() {
        @Override
        public void outcome(Outcome outcome) {}

        @Override
        public void transaction(long nanos) {}

        @Override
        public void applied(Instant committedAt) {}

        @Override
        public void close() {}
      };

  void outcome(Outcome outcome);

  /** Time of one inbox transaction: insert, handler, commit (or rollback). */
  void transaction(long nanos);

  /** An event was applied; {@code committedAt} may be null. */
  void applied(Instant committedAt);

  @Override
  void close();
}
