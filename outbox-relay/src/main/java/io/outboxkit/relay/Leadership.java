package io.outboxkit.relay;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One active relay per slot: the active one holds a PostgreSQL session advisory lock keyed by the
 * slot name on a connection of its own; others wait as standbys and try the lock every {@code
 * standby.poll-interval}. When the active relay dies, PostgreSQL ends its session and frees the
 * lock, and a standby takes over. The same connection measures the slot's retained WAL, so a lost
 * lock is noticed at the next measurement.
 */
final class Leadership implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Leadership.class);

  private final RelaySettings settings;
  private final SourceDatabase db;
  private Connection connection;

  Leadership(RelaySettings settings, SourceDatabase db) {
    this.settings = settings;
    this.db = db;
  }

  /** The lock's key: the same for every relay of a slot (and for the CLI's {@code relay reset}). */
  private static final String TRY_LOCK =
      "SELECT pg_try_advisory_lock(hashtext('outboxkit-relay'), hashtext(?))";

  /**
   * The backend pid of the session that holds the lock of {@code slot} (a running relay, or a
   * {@code relay reset}), or null; reads {@code pg_locks} and takes nothing.
   */
  static Integer holder(Connection c, String slot) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                + " AND classid::bigint = (hashtext('outboxkit-relay')::bigint & 4294967295)"
                + " AND objid::bigint = (hashtext(?)::bigint & 4294967295) AND objsubid = 2")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getInt(1) : null;
      }
    }
  }

  /**
   * Takes the lock once, without waiting: so that no relay starts while an operator resets its
   * state. Released by {@link #close()}.
   *
   * @return true when the lock is held now
   */
  synchronized boolean tryAcquire() {
    if (connection == null || !valid()) {
      closeQuietly();
      connection = db.connect();
    }
    try (PreparedStatement ps = connection.prepareStatement(TRY_LOCK)) {
      ps.setString(1, settings.slot());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    } catch (SQLException e) {
      closeQuietly();
      throw db.translate(e, "taking the relay lock on");
    }
  }

  /**
   * Blocks until this relay holds the lock, or {@code stopping} says to give up.
   *
   * @return true when the lock is held
   */
  boolean acquire(BooleanSupplier stopping, Runnable onStandby) throws InterruptedException {
    boolean announced = false;
    while (!stopping.getAsBoolean()) {
      if (tryAcquire()) {
        log.info("holding the lock of slot {}: this relay is active", settings.slot());
        return true;
      }
      if (!announced) {
        log.info("another relay holds slot {}: waiting as standby", settings.slot());
        onStandby.run();
        announced = true;
      }
      Thread.sleep(settings.standby().pollInterval().toMillis());
    }
    return false;
  }

  /**
   * The slot's retained WAL in bytes, which also proves the lock's session is alive.
   *
   * @throws RelayException retryable when the session is gone (the lock with it)
   */
  synchronized long retainedWalBytes() {
    if (connection == null) {
      throw RelayException.retryable("the relay lock's connection is closed", null);
    }
    try (Statement s = connection.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), -1)::bigint"
                    + " FROM pg_replication_slots WHERE slot_name = '"
                    + settings.slot()
                    + "'")) {
      return rs.next() ? rs.getLong(1) : -1;
    } catch (SQLException e) {
      closeQuietly();
      throw RelayException.retryable("lost the relay lock's connection: " + e.getMessage(), e);
    }
  }

  private boolean valid() {
    try {
      return connection.isValid(5);
    } catch (SQLException e) {
      return false;
    }
  }

  /** Releases the lock by ending the session. */
  @Override
  public synchronized void close() {
    closeQuietly();
  }

  private void closeQuietly() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        // already broken
      }
      connection = null;
    }
  }
}
