package io.outboxkit.relay;

import io.debezium.embedded.Connect;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.connect.source.SourceRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of the embedded Debezium engine, from start until it stops or fails; a restart makes a
 * new one. Each batch is converted, published, and only after every ack are its safe resume points
 * marked processed ({@link CommitBoundary}), so the stored offset never passes an event JetStream
 * has not acknowledged.
 *
 * <p>Stopping drains: the relay writes a marker into the WAL, publishes everything before it,
 * stores the marker's offset, and publishes nothing after it; a restart resumes exactly there, so a
 * clean stop leaves no duplicates to drop.
 */
final class RelayEngine
    implements DebeziumEngine.ChangeConsumer<ChangeEvent<SourceRecord, SourceRecord>> {
  private static final Logger log = LoggerFactory.getLogger(RelayEngine.class);

  private final Properties properties;
  private final JetStreamPublisher publisher;
  private final RowConverter converter;
  private final RelayMetrics metrics;
  private final SourceDatabase db;
  private final Runnable onStreaming;
  private final CountDownLatch finished = new CountDownLatch(1);
  private final CountDownLatch drained = new CountDownLatch(1);
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private volatile boolean stopping;
  private volatile long stopMarkerLsn = Long.MAX_VALUE;
  private volatile DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine;

  RelayEngine(
      Properties properties,
      JetStreamPublisher publisher,
      RowConverter converter,
      RelayMetrics metrics,
      SourceDatabase db,
      Runnable onStreaming) {
    this.properties = properties;
    this.publisher = publisher;
    this.converter = converter;
    this.metrics = metrics;
    this.db = db;
    this.onStreaming = onStreaming;
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
                    onStreaming.run();
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
    long maxPayload = publisher.maxPayload();
    int end;
    while (true) {
      List<OutboundMessage> out = new ArrayList<>(records.size());
      end = convert(records, maxPayload, marker, out);
      if (out.isEmpty()) {
        break;
      }
      long serverLimit = publisher.connectedMaxPayload();
      if (serverLimit != maxPayload) {
        maxPayload =
            serverLimit; // convert again: what is too large for this server is dead-lettered
        continue;
      }
      try {
        publisher.publishAll(out, maxPayload);
      } catch (JetStreamPublisher.MaxPayloadChanged e) {
        maxPayload = e.maxPayload;
        continue;
      }
      for (OutboundMessage m : out) {
        if (m.deadLetterKind() != null) {
          metrics.deadLetter(m.deadLetterKind());
          log.error(
              "outbox event {} dead-lettered to {}: {}", m.id(), m.subject(), m.deadLetterReason());
        }
      }
      break;
    }
    for (int i = 0; i < end; i++) {
      ChangeEvent<SourceRecord, SourceRecord> event = records.get(i);
      if (CommitBoundary.isSafeResumePoint(event.value().sourceOffset())) {
        committer.markProcessed(event);
      }
    }
    committer.markBatchFinished();
    boolean reachedMarker = end > 0 && isMarker(records.get(end - 1).value(), marker);
    if (reachedMarker) {
      log.info("drained up to the stop marker; offset stored");
      drained.countDown();
    }
  }

  /**
   * Converts the records up to the stop marker into {@code out}; returns how many records that
   * covers (all of them, or up to and including the marker).
   */
  private int convert(
      List<ChangeEvent<SourceRecord, SourceRecord>> records,
      long maxPayload,
      long marker,
      List<OutboundMessage> out) {
    for (int i = 0; i < records.size(); i++) {
      SourceRecord record = records.get(i).value();
      RowConverter.Result r = converter.convert(record, maxPayload);
      if (r instanceof RowConverter.Publish p) {
        out.add(p.message());
      } else if (((RowConverter.Skip) r).heartbeat()) {
        metrics.heartbeat();
        if (isMarker(record, marker)) {
          return i + 1; // publish nothing after the stop marker
        }
      }
    }
    return records.size();
  }

  private boolean isMarker(SourceRecord record, long marker) {
    return marker != Long.MAX_VALUE
        && CommitBoundary.lsn(record.sourceOffset()) >= marker
        && converter.convert(record, Long.MAX_VALUE) instanceof RowConverter.Skip s
        && s.heartbeat();
  }

  /**
   * Stops after draining: writes a marker into the WAL and waits up to {@code drainTimeoutMillis}
   * for everything before it to be published and committed, then closes the engine. Without a
   * database to write the marker, it closes at once; the next start then replays from the last
   * resume point, and JetStream drops the repeats.
   */
  void stop(long drainTimeoutMillis) {
    stopping = true;
    try (Connection c = db.connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT pg_logical_emit_message(false, '"
                    + RowConverter.HEARTBEAT_PREFIX
                    + "', 'stop')::text")) {
      rs.next();
      stopMarkerLsn = OffsetLsn.parse(rs.getString(1));
      log.info("stop marker written at LSN {}; publishing everything before it", rs.getString(1));
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
