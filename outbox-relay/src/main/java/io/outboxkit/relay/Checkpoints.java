package io.outboxkit.relay;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the relay's checkpoints into the WAL: a non-transactional logical message with prefix
 * {@value RowConverter#CHECKPOINT_PREFIX} every {@code engine.heartbeat-interval} while the engine
 * streams, whether the outbox is busy or idle. When a checkpoint comes back through the WAL and
 * everything before it is acknowledged, its offset is stored: the only resume points the relay
 * keeps ({@link CommitBoundary}). They also keep the slot advancing while the outbox is idle and
 * other tables are busy, so retained WAL stays bounded.
 */
final class Checkpoints implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Checkpoints.class);

  private final SourceDatabase db;
  private final Duration interval;
  private final ScheduledExecutorService timer;
  private Connection connection;

  Checkpoints(SourceDatabase db, Duration interval) {
    this.db = db;
    this.interval = interval;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "outboxkit-relay-checkpoints");
              t.setDaemon(true);
              return t;
            });
  }

  void start() {
    long every = interval.toMillis();
    timer.scheduleWithFixedDelay(this::tick, every, every, TimeUnit.MILLISECONDS);
  }

  private void tick() {
    try {
      emit("checkpoint");
    } catch (SQLException | RelayException e) {
      log.warn(
          "cannot write a checkpoint into the WAL (retried in {}): {}", interval, e.getMessage());
    }
  }

  /**
   * Writes one message now.
   *
   * @return its LSN
   */
  synchronized long emit(String content) throws SQLException {
    try {
      if (connection == null || connection.isClosed()) {
        connection = db.connect();
        connection.setAutoCommit(true);
      }
      try (Statement s = connection.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT pg_logical_emit_message(false, '"
                      + RowConverter.CHECKPOINT_PREFIX
                      + "', '"
                      + content
                      + "')::text")) {
        rs.next();
        return OffsetLsn.parse(rs.getString(1));
      }
    } catch (SQLException e) {
      closeConnection();
      throw e;
    }
  }

  private void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // broken already
      }
      connection = null;
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    synchronized (this) {
      closeConnection();
    }
  }
}
