package io.outboxkit.patterns.rebuild;

import java.time.Instant;

/**
 * Where a rebuild stands, as {@link Rebuilder#progress()} reports it.
 *
 * <pre>{@code
 * RebuildProgress p = rebuilder.progress();
 * System.out.printf("%s %s: %d events, stream %d of %d%n",
 *     p.model(), p.phase(), p.eventsApplied(), p.streamPosition(), p.streamEnd());
 * }</pre>
 *
 * @param model the read model's name
 * @param phase what the rebuild does now
 * @param consumer the rebuild's own durable consumer (and inbox key)
 * @param from events committed before this time are read but not applied; null: from the start
 * @param eventsApplied messages the rebuild has recorded in its inbox (applied, or skipped as older
 *     than {@code from})
 * @param streamPosition the stream sequence up to which the rebuild has applied everything
 * @param streamEnd the stream's last sequence
 * @param pending messages of the rebuild's subjects it has not applied yet
 * @param startedAt when the rebuild started
 * @param finishedAt when it ended (DONE or FAILED); null while it runs
 * @param rowsBefore rows of the live model just before the swap (the model that was replaced)
 * @param rowsAfter rows of the rebuilt model at the swap
 * @param livePausedMs how long the live consumer was paused for the handover
 * @param error why it failed; null otherwise
 */
public record RebuildProgress(
    String model,
    Phase phase,
    String consumer,
    Instant from,
    long eventsApplied,
    long streamPosition,
    long streamEnd,
    long pending,
    Instant startedAt,
    Instant finishedAt,
    long rowsBefore,
    long rowsAfter,
    long livePausedMs,
    String error) {

  /** The phases of a rebuild, in order; it ends in {@code DONE} or {@code FAILED}. */
  public enum Phase {
    /** No rebuild has run since this process started. */
    IDLE,
    /** Creating the shadow tables and the rebuild's consumer. */
    PREPARING,
    /** Applying the stream into the shadow tables while the live model serves. */
    BUILDING,
    /** The live consumer is paused; the rebuild applies the last events the live one had. */
    CATCHING_UP,
    /** One transaction replaces the live tables with the rebuilt ones. */
    SWAPPING,
    /** The rebuilt model serves; the old one is dropped. */
    DONE,
    /** Stopped; the live model was not touched (see {@code error}). */
    FAILED;

    /** Whether a rebuild in this phase has ended. */
    public boolean ended() {
      return this == IDLE || this == DONE || this == FAILED;
    }
  }
}
