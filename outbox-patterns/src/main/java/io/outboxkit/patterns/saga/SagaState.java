package io.outboxkit.patterns.saga;

import java.time.Instant;
import java.util.List;

/**
 * A saga instance as stored: its current state, its data, its pending deadline and every step it
 * took, oldest first.
 *
 * <pre>{@code
 * SagaState s = onboarding.find("m-42").orElseThrow();
 * if (s.state().equals("TIMED_OUT")) {
 *   s.steps().forEach(step -> log.info("{} {} -> {}", step.kind(), step.name(), step.toState()));
 * }
 * }</pre>
 *
 * @param type the saga type, as given to {@link Saga.Builder#type(String)}
 * @param id the saga id (e.g. the id of the entity it is about)
 * @param state the current state
 * @param data the saga's data, as JSON text
 * @param deadline when the current state times out; null when it does not
 * @param version how many steps the saga took (the {@code seq} of its last step)
 * @param createdAt when it began
 * @param updatedAt when its last step was applied
 * @param steps its steps, oldest first (empty when not asked for)
 */
public record SagaState(
    String type,
    String id,
    String state,
    String data,
    Instant deadline,
    int version,
    Instant createdAt,
    Instant updatedAt,
    List<Step> steps) {

  public SagaState {
    steps = steps == null ? List.of() : List.copyOf(steps);
  }

  /** What caused a step. */
  public enum Kind {
    /** {@link Saga#begin}: the saga was created in its initial state. */
    BEGIN,
    /** A reply event arrived (through {@link Saga#replies()}). */
    REPLY,
    /** The deadline of a state passed. */
    DEADLINE
  }

  /** What a step did. */
  public enum Outcome {
    /**
     * A step defined for the state ran ({@link Saga.Builder#on}, {@link Saga.Builder#onDeadline}).
     */
    APPLIED,
    /**
     * A reply came while the saga was in a state that has no step for it (after a timeout, or after
     * the other answer): the {@link Saga.Builder#onLate late rule} ran, if one is defined.
     */
    LATE,
    /** Nothing ran: no step and no late rule for it. */
    IGNORED
  }

  /**
   * One step of a saga.
   *
   * @param seq 1 for BEGIN, then one more per step
   * @param kind what caused it
   * @param name BEGIN: the initial state; REPLY: the reply's event type; DEADLINE: the state whose
   *     deadline passed
   * @param eventId the reply's message id (REPLY only)
   * @param fromState the state before (null for BEGIN)
   * @param toState the state after
   * @param outcome what it did
   * @param note what the step handler noted ({@link SagaContext#note(String)}), or null
   * @param at when it was applied (database time)
   */
  public record Step(
      int seq,
      Kind kind,
      String name,
      String eventId,
      String fromState,
      String toState,
      Outcome outcome,
      String note,
      Instant at) {}
}
