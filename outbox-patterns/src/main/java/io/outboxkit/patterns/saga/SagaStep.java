package io.outboxkit.patterns.saga;

/**
 * One local transaction of a saga: called inside the transaction that also records the step in
 * {@code saga_step}, updates the saga's row and (for a reply) records the message in the consumer's
 * inbox. Do all database work on {@link SagaContext#handle()} and send events with {@link
 * SagaContext#emit}: they commit together or not at all. Throwing rolls everything back; a reply is
 * then retried by its consumer, a deadline by the next scheduler pass.
 *
 * <pre>{@code
 * SagaStep activate = ctx -> {
 *   ctx.handle().execute("UPDATE meter SET status = 'ACTIVE' WHERE meter_id = ?", ctx.id());
 *   ctx.emit(OutboxEvent.of("meter", ctx.id(), "MeterRegistered", registered));
 *   ctx.moveTo("ACTIVE");
 * };
 * }</pre>
 */
@FunctionalInterface
public interface SagaStep {

  /**
   * Applies the step.
   *
   * @throws Exception any failure: the transaction rolls back and the step is tried again later
   */
  void apply(SagaContext ctx) throws Exception;
}
