package io.outboxkit.consumer;

import org.jdbi.v3.core.Handle;

/**
 * Applies one event. Called by {@link OutboxConsumer} inside an open transaction on {@code handle},
 * right after the message id was recorded in the inbox table; the effect, the inbox row and the
 * acknowledgement thus go together: the transaction commits, then the message is acked. Throwing
 * rolls everything back, and the message is retried with backoff, then dead-lettered.
 *
 * <p>Do all database work on the given handle (not on another connection), and do not commit or
 * roll back yourself. Work outside the database (an HTTP call, an email) is not covered by the
 * transaction: it can happen again if the commit fails or the process dies before the commit.
 *
 * <pre>{@code
 * EventHandler handler = (handle, event) -> {
 *   ReadingRecorded reading = event.payloadAs(ReadingRecorded.class);
 *   handle.execute(
 *       "INSERT INTO bill_line(meter_id, kwh, event_id) VALUES (?, ?, ?)",
 *       reading.meterId(), reading.kwh(), event.id());
 * };
 * }</pre>
 */
@FunctionalInterface
public interface EventHandler {

  /**
   * Applies {@code event} using {@code handle}, which is in a transaction.
   *
   * @throws Exception any failure: the transaction is rolled back and the message retried
   */
  void handle(Handle handle, InboundEvent event) throws Exception;
}
