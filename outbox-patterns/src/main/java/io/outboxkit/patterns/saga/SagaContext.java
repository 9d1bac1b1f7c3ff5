package io.outboxkit.patterns.saga;

import io.outboxkit.OutboxEvent;
import io.outboxkit.consumer.InboundEvent;
import java.time.Duration;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/**
 * What a {@link SagaStep} sees and may do, within the step's transaction. Not thread-safe; valid
 * only while the step runs.
 *
 * <pre>{@code
 * SagaStep reject = ctx -> {
 *   Rejected r = ctx.event().payloadAs(Rejected.class);
 *   ctx.handle().execute("UPDATE meter SET status = 'REJECTED' WHERE meter_id = ?", ctx.id());
 *   ctx.note(r.reason());
 *   ctx.moveTo("REJECTED");                       // a terminal state: no deadline
 * };
 * }</pre>
 */
public interface SagaContext {

  /** The open transaction of the step. Do not commit or roll back. */
  Handle handle();

  /** The saga id. */
  String id();

  /** The state the saga is in (before {@link #moveTo}). */
  String state();

  /** The reply that caused the step; null for a deadline. */
  InboundEvent event();

  /**
   * The saga's data read as {@code type} (JSON, the library's default mapper).
   *
   * @throws io.outboxkit.OutboxException when the stored JSON does not fit {@code type}
   */
  <T> T data(Class<T> type);

  /** Replaces the saga's data with {@code data} (serialized to JSON when the step commits). */
  void data(Object data);

  /**
   * Writes {@code event} to the outbox in the step's transaction: it is sent only if the step
   * commits.
   *
   * @return the event's id
   */
  UUID emit(OutboxEvent event);

  /** Moves the saga to {@code state}, with no deadline (the previous deadline is cleared). */
  void moveTo(String state);

  /**
   * Moves the saga to {@code state}, which times out {@code timeout} from now (database time): then
   * the {@link Saga.Builder#onDeadline deadline step} of that state runs, unless another step moved
   * the saga on first.
   */
  void moveTo(String state, Duration timeout);

  /**
   * A short text kept with the step in {@code saga_step.note}, e.g. a reason; the last one wins.
   */
  void note(String note);
}
