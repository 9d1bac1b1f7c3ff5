package io.outboxkit.relay;

import io.debezium.embedded.Connect;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import java.io.IOException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of the embedded Debezium engine, from start until it stops or fails; a restart makes a
 * new one. Each batch reads as a straight line: convert every record, publish what is to be
 * published (every ack awaited, inside its publish spans when tracing is on), mark the relay's
 * checkpoints processed, so the stored offset never passes an event JetStream has not acknowledged
 * and is always a safe resume point ({@link CommitBoundary}).
 *
 * <p>A replay after a restart skips the events the stream already holds ({@code storedReplays},
 * read from the stream's tail before the engine starts), so nothing is stored twice even when the
 * replayed events are older than the stream's duplicate window.
 *
 * <p>Stopping drains: the relay writes a marker into the WAL, publishes everything before it,
 * stores the marker's offset, and publishes nothing after it; a restart resumes exactly there, so a
 * clean stop leaves nothing to replay.
 */
final class RelayEngine
    implements DebeziumEngine.ChangeConsumer<ChangeEvent<SourceRecord, SourceRecord>> {
  private static final Logger log = LoggerFactory.getLogger(RelayEngine.class);

  /** What the supervisor hears from a run. */
  interface Listener {
    /** Debezium's task started: the replication stream is open. */
    void streaming();

    /** A checkpoint went through and its offset was handed over: the pipeline flows. */
    void flowing();
  }

  /**
   * The most events, and payload bytes, converted and held before they are published: a batch is
   * {@code engine.max-batch-size} records, but a WAL message may carry hundreds of events.
   */
  static final int CHUNK_EVENTS = 4096;

  static final long CHUNK_BYTES = 4L << 20;

  private final Properties properties;
  private final JetStreamPublisher publisher;
  private final RowConverter converter;
  private final PublishTracing tracing;
  private final RelayMetrics metrics;
  private final Checkpoints checkpoints;
  private final Set<String> storedReplays;
  private final Listener listener;
  private final CountDownLatch finished = new CountDownLatch(1);
  private final CountDownLatch drained = new CountDownLatch(1);
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private volatile boolean stopping;
  private volatile boolean abandoned;
  private volatile long stopMarkerLsn = Long.MAX_VALUE;
  private volatile DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine;

  RelayEngine(
      Properties properties,
      JetStreamPublisher publisher,
      RowConverter converter,
      PublishTracing tracing,
      RelayMetrics metrics,
      Checkpoints checkpoints,
      Set<String> storedReplays,
      Listener listener) {
    this.properties = (Properties) properties.clone();
    this.properties.setProperty(StageLag.PROPERTY, metrics.stages.key());
    this.publisher = publisher;
    this.converter = converter;
    this.tracing = tracing;
    this.metrics = metrics;
    this.checkpoints = checkpoints;
    this.storedReplays = new HashSet<>(storedReplays);
    this.listener = listener;
  }

  /**
   * Runs the engine in this thread until it stops.
   *
   * @return null after a requested stop, else what made it stop
   */
  Throwable run() {
    engine =
        DebeziumEngine.create(Connect.class)
            .using(properties)
            .using(
                (success, message, error) -> {
                  if (!success && !stopping) {
                    failure.compareAndSet(
                        null, error != null ? error : new IllegalStateException(message));
                  }
                  finished.countDown();
                })
            .using(
                new DebeziumEngine.ConnectorCallback() {
                  @Override
                  public void taskStarted() {
                    checkpoints.start();
                    listener.streaming();
                  }
                })
            .notifying(this)
            .build();
    try {
      engine.run();
    } catch (RuntimeException e) {
      failure.compareAndSet(null, e);
      finished.countDown();
    }
    try {
      finished.await(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    checkpoints.close();
    drained.countDown(); // a stop that waits for the drain need not wait for a dead engine
    return stopping ? null : failure.get();
  }

  @Override
  public void handleBatch(
      List<ChangeEvent<SourceRecord, SourceRecord>> records,
      DebeziumEngine.RecordCommitter<ChangeEvent<SourceRecord, SourceRecord>> committer)
      throws InterruptedException {
    if (drained.getCount() == 0) {
      throw new InterruptedException("relay stopping: the rest is left for the next start");
    }
    metrics.batch(records.size());
    long marker = stopMarkerLsn;
    boolean reachedMarker = false;
    List<OutboundMessage> out = new ArrayList<>(Math.min(records.size(), CHUNK_EVENTS));
    long outBytes = 0;
    List<ChangeEvent<SourceRecord, SourceRecord>> resumePoints = new ArrayList<>(2);
    for (ChangeEvent<SourceRecord, SourceRecord> event : records) {
      SourceRecord record = event.value();
      metrics.stages.batched(record);
      RowConverter.Result r = converter.convert(record);
      if (r instanceof RowConverter.Publish p) {
        for (OutboundMessage m : p.messages()) {
          if (storedReplays.isEmpty() || !storedReplays.remove(m.id())) {
            out.add(m);
            outBytes += m.payload().length;
          } else {
            metrics.replaySkipped();
          }
        }
        if (out.size() >= CHUNK_EVENTS || outBytes >= CHUNK_BYTES) {
          publish(out); // a batch of large WAL messages holds many events: bound what is in hand
          out = new ArrayList<>(CHUNK_EVENTS);
          outBytes = 0;
        }
      } else if (r instanceof RowConverter.Checkpoint c) {
        metrics.heartbeat();
        if (CommitBoundary.isSafeResumePoint(record.sourceOffset())) {
          resumePoints.add(event);
        }
        if (Long.compareUnsigned(c.lsn(), marker) >= 0) {
          reachedMarker = true;
          break; // publish nothing after the stop marker
        }
      }
    }
    publish(out);
    for (ChangeEvent<SourceRecord, SourceRecord> event : resumePoints) {
      committer.markProcessed(event);
    }
    committer.markBatchFinished();
    if (!resumePoints.isEmpty()) {
      listener.flowing(); // progress is stored, not only replayed: the pipeline flows again
    }
    if (reachedMarker) {
      log.info("drained up to the stop marker; offset stored");
      drained.countDown();
    }
  }

  /**
   * Publishes {@code out} in order and waits for every ack (retrying as long as it takes). Called
   * also with nothing to publish: the publisher checks the fence before offsets are handed over.
   */
  private void publish(List<OutboundMessage> out) throws InterruptedException {
    PublishTracing.Spans spans = tracing.start(out);
    try {
      publisher.publishAll(out, () -> !abandoned);
    } catch (InterruptedException | RuntimeException e) {
      spans.failed(e);
      throw e;
    }
    spans.published(out);
  }

  /**
   * Stops after draining: writes a marker into the WAL and waits up to {@code drainTimeoutMillis}
   * for everything before it to be published and committed, then closes the engine. Without a
   * database to write the marker, it closes at once; the next start then replays from the last
   * resume point, and JetStream drops the repeats.
   */
  void stop(long drainTimeoutMillis) {
    stopping = true;
    try {
      long lsn = checkpoints.emit("stop");
      stopMarkerLsn = lsn;
      log.info(
          "stop marker written at LSN {}; publishing everything before it", OffsetLsn.format(lsn));
      if (!drained.await(drainTimeoutMillis, TimeUnit.MILLISECONDS)) {
        log.warn(
            "the relay did not drain within {} ms; what was not committed is replayed on the next"
                + " start",
            drainTimeoutMillis);
      }
    } catch (SQLException | RelayException e) {
      log.warn("cannot write the stop marker ({}); stopping without draining", e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    drained.countDown();
    closeEngine();
  }

  /**
   * Stops without draining: no marker, nothing more published, the batch in hand abandoned. For a
   * relay that lost its lease: it must not act as the leader any more.
   */
  void stopNow() {
    stopping = true;
    abandoned = true;
    drained.countDown();
    closeEngine();
  }

  private void closeEngine() {
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      DebeziumEngine<?> e = engine;
      if (e == null) {
        return;
      }
      try {
        e.close();
        return;
      } catch (IllegalStateException ex) {
        // Still starting its task: Debezium refuses to close until it has started.
        if (System.currentTimeMillis() > deadline || finished.getCount() == 0) {
          return;
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          return;
        }
      } catch (IOException | RuntimeException ex) {
        log.warn("closing the Debezium engine: {}", ex.toString());
        return;
      }
    }
  }

  boolean awaitFinished(long millis) throws InterruptedException {
    return finished.await(millis, TimeUnit.MILLISECONDS);
  }
}
