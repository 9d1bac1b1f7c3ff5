package io.outboxkit.patterns.rebuild;

import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.ConsumerInfo;
import io.outboxkit.OutboxException;
import io.outboxkit.consumer.InboundEvent;
import io.outboxkit.consumer.OutboxConsumer;
import io.outboxkit.patterns.rebuild.RebuildProgress.Phase;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Instant;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One rebuild, run by its own thread: prepare the shadow tables, apply the stream into them with a
 * consumer of its own, hand over (pause the live consumer, let the rebuild pass it, swap in one
 * transaction, resume), drop the old tables. Any failure before the swap leaves the live model as
 * it was.
 */
final class RebuildRun implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(RebuildRun.class);
  private static final int HANDOVER_ATTEMPTS = 3;
  private static final int SWAP_ATTEMPTS = 3;

  private final RebuildSettings s;
  private final ShadowTables shadow;
  private final Instant from;
  private final String consumerName;
  private final Instant startedAt = Instant.now();
  private volatile Phase phase = Phase.PREPARING;
  private volatile long applied;

  /** Read together by {@link #look()} and published at once, so progress never mixes two looks. */
  private record Position(long position, long end, long pending) {}

  private volatile Position at = new Position(0, 0, 0);
  private volatile Instant finishedAt;
  private volatile long rowsBefore;
  private volatile long rowsAfter;
  private volatile long pausedMs;
  private volatile String error;
  private volatile boolean cancelled;
  private String searchPath;
  private OutboxConsumer consumer;

  RebuildRun(RebuildSettings settings, Instant from) {
    this.s = settings;
    this.shadow = new ShadowTables(settings);
    this.from = from;
    this.consumerName = settings.consumerPrefix() + Long.toString(startedAt.toEpochMilli(), 36);
  }

  RebuildProgress progress() {
    Position now = at;
    return new RebuildProgress(
        s.model(),
        phase,
        consumerName,
        from,
        applied,
        now.position(),
        now.end(),
        now.pending(),
        startedAt,
        finishedAt,
        rowsBefore,
        rowsAfter,
        pausedMs,
        error);
  }

  void cancel() {
    cancelled = true;
  }

  @Override
  public void run() {
    boolean swapped = false;
    try {
      log.info("rebuild of '{}' starts ({}), consumer {}", s.model(), fromText(), consumerName);
      deleteLeftoverConsumers();
      shadow.create(s.jdbi(), s.consumerPrefix());
      searchPath = shadow.searchPath(s.jdbi());
      consumer =
          OutboxConsumer.builder()
              .name(consumerName)
              .connection(s.connection())
              .jdbi(s.jdbi())
              .stream(s.stream())
              .filterSubject(s.filterSubject())
              .inboxTable(s.inboxTable())
              .deadLetterSubject(s.deadLetterSubject())
              .handler(this::apply)
              .build()
              .start();
      phase = Phase.BUILDING;
      int handovers = 0;
      while (!swapped) {
        sleepAndLook();
        if (at.pending() <= s.handoverLag()) {
          if (++handovers > HANDOVER_ATTEMPTS) {
            throw new OutboxException(
                "the rebuild did not catch up with the live consumer within "
                    + s.handoverTimeout()
                    + " in "
                    + HANDOVER_ATTEMPTS
                    + " handovers: is its handler failing (see the log), or the load too high?"
                    + " Raise handoverTimeout or start it at a quieter time");
          }
          swapped = handover();
        }
      }
      dropRetired();
      finishedAt = Instant.now();
      phase = Phase.DONE;
      log.info(
          "rebuild of '{}' done: {} events applied, {} rows replace {}; live paused {} ms",
          s.model(),
          applied,
          rowsAfter,
          rowsBefore,
          pausedMs);
    } catch (RuntimeException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      error = OutboxException.describe(e);
      log.warn("rebuild of '{}' failed: {}", s.model(), error);
      if (!swapped) {
        cleanUpAfterFailure();
      }
      finishedAt = Instant.now();
      phase = Phase.FAILED;
    }
  }

  /** The handler, applied to the shadow tables; events older than {@code from} are skipped. */
  private void apply(Handle h, InboundEvent event) throws Exception {
    if (from != null) {
      InboundEvent.Metadata m = event.metadata();
      Instant at = m.committedAt() != null ? m.committedAt() : m.publishedAt();
      if (at != null && at.isBefore(from)) {
        return;
      }
    }
    ShadowTables.route(h, searchPath);
    s.handler().handle(h, event);
  }

  /**
   * Pauses the live consumer, waits until the rebuild has applied everything delivered to it, then
   * swaps. Returns false (live resumed) when the rebuild did not get there in time.
   */
  private boolean handover() throws InterruptedException {
    phase = Phase.CATCHING_UP;
    long pausedAt = System.nanoTime();
    s.pauseLive().run();
    try {
      long live = liveDelivered();
      long deadline = System.nanoTime() + s.handoverTimeout().toNanos();
      while (at.position() < live) {
        if (System.nanoTime() > deadline) {
          log.warn(
              "rebuild of '{}': not at the live consumer's position {} after {}; live resumed",
              s.model(),
              live,
              s.handoverTimeout());
          phase = Phase.BUILDING;
          return false;
        }
        sleepAndLook();
      }
      consumer.close();
      look();
      phase = Phase.SWAPPING;
      long[] rows = swapWithRetries();
      rowsBefore = rows[0];
      rowsAfter = rows[1];
      return true;
    } finally {
      s.resumeLive().run();
      pausedMs += (System.nanoTime() - pausedAt) / 1_000_000;
    }
  }

  private long[] swapWithRetries() {
    for (int attempt = 1; ; attempt++) {
      try {
        return s.jdbi().inTransaction(h -> shadow.swap(h, consumerName));
      } catch (RuntimeException e) {
        if (attempt >= SWAP_ATTEMPTS || !lockConflict(e)) {
          throw e;
        }
        log.info("rebuild of '{}': swap attempt {} met a lock conflict; again", s.model(), attempt);
      }
    }
  }

  private void sleepAndLook() throws InterruptedException {
    Thread.sleep(s.pollInterval().toMillis());
    if (cancelled) {
      throw new OutboxException("the rebuild was cancelled (Rebuilder.close())");
    }
    look();
  }

  /** Reads the rebuild's position in the stream and the events it has applied. */
  private void look() {
    try {
      JetStreamManagement jsm = s.connection().jetStreamManagement();
      ConsumerInfo info = jsm.getConsumerInfo(s.stream(), consumerName);
      long end = jsm.getStreamInfo(s.stream()).getStreamState().getLastSequence();
      at =
          new Position(
              info.getAckFloor().getStreamSequence(),
              end,
              info.getNumPending() + info.getNumAckPending());
      applied = countApplied();
    } catch (IOException | JetStreamApiException e) {
      log.debug("rebuild of '{}': position unknown for now: {}", s.model(), e.toString());
    }
  }

  private long countApplied() {
    return s.jdbi()
        .withHandle(
            h ->
                h.createQuery(
                        "SELECT count(*) FROM "
                            + s.inboxTable().qualified()
                            + " WHERE consumer = :c")
                    .bind("c", consumerName)
                    .mapTo(Long.class)
                    .one());
  }

  /** The stream sequence of the last message delivered to the (paused) live consumer. */
  private long liveDelivered() {
    try {
      return s.connection()
          .jetStreamManagement()
          .getConsumerInfo(s.stream(), s.liveConsumer())
          .getDelivered()
          .getStreamSequence();
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() == 10014) {
        return 0; // no live consumer (yet): nothing to pass
      }
      throw new OutboxException("could not read the live consumer's position: " + e, e);
    } catch (IOException e) {
      throw new OutboxException("could not read the live consumer's position: " + e, e);
    }
  }

  private void deleteLeftoverConsumers() {
    try {
      for (String name : s.connection().jetStreamManagement().getConsumerNames(s.stream())) {
        if (name.startsWith(s.consumerPrefix())) {
          log.info("rebuild of '{}': deleting consumer {} of an earlier rebuild", s.model(), name);
          deleteConsumer(name);
        }
      }
    } catch (IOException | JetStreamApiException e) {
      throw new OutboxException(
          "could not list the consumers of stream "
              + s.stream()
              + ": "
              + e.getMessage()
              + ". Is NATS up and the stream there?",
          e);
    }
  }

  private void deleteConsumer(String name) {
    try {
      s.connection().jetStreamManagement().deleteConsumer(s.stream(), name);
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() != 10014) {
        log.warn(
            "rebuild of '{}': could not delete consumer {}: {}", s.model(), name, e.toString());
      }
    } catch (IOException e) {
      log.warn("rebuild of '{}': could not delete consumer {}: {}", s.model(), name, e.toString());
    }
  }

  /** After the swap: the rebuild's consumer and the old tables go; failing here is harmless. */
  private void dropRetired() {
    deleteConsumer(consumerName);
    try {
      shadow.drop(s.jdbi(), consumerName);
    } catch (RuntimeException e) {
      log.warn(
          "rebuild of '{}': dropping the old tables failed ({}); the next start() drops them",
          s.model(),
          OutboxException.describe(e));
    }
  }

  private void cleanUpAfterFailure() {
    try {
      if (consumer != null) {
        consumer.close();
      }
      deleteConsumer(consumerName);
      shadow.drop(s.jdbi(), consumerName);
    } catch (RuntimeException e) {
      log.warn(
          "rebuild of '{}': cleaning up failed ({}); the next start() drops what is left",
          s.model(),
          OutboxException.describe(e));
    }
  }

  private String fromText() {
    return from == null ? "from the start of stream " + s.stream() : "from " + from;
  }

  private static boolean lockConflict(Throwable e) {
    for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
      if (t instanceof SQLException q
          && ("40P01".equals(q.getSQLState()) || "55P03".equals(q.getSQLState()))) {
        return true;
      }
    }
    return false;
  }
}
