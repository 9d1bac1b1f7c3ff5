package io.outboxkit.relay;

import java.net.InetAddress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One active relay per slot, and a standby that takes over when the active one dies, freezes or
 * loses its host or network.
 *
 * <p>The active relay holds a PostgreSQL session advisory lock keyed by the slot name on a session
 * of its own; standbys try the lock every {@code standby.poll-interval}. That session is a
 * <em>lease</em>: the relay sets {@code idle_session_timeout} to {@code standby.lease-timeout} on
 * it and runs a statement on it every third of that, so PostgreSQL ends the session, and frees the
 * lock, once the relay has been silent for the lease timeout, whatever TCP says (a frozen process's
 * kernel still answers keepalives). The relay keeps the same lease on its own clock ({@link Lease})
 * and publishes nothing once it is over ({@link #confirm()}).
 *
 * <p>The new leader then raises the slot's <em>epoch</em> (the fencing token every offset write
 * checks, {@link PostgresOffsetStore}) and ends the previous leader's walsender, which otherwise
 * keeps the slot busy until {@code wal_sender_timeout}.
 *
 * <p>The CLI's {@code relay reset} takes the same lock without a lease (held until closed), so that
 * no relay starts while an operator resets its state.
 */
final class Leadership implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Leadership.class);

  private final RelaySettings settings;
  private final SourceDatabase db;
  private final Lease lease;
  private Connection connection;

  /** The lock without a lease, for the CLI. */
  Leadership(RelaySettings settings, SourceDatabase db) {
    this(settings, db, null);
  }

  /**
   * @param lease the relay's lease, or null for a lock held until {@link #close()}
   */
  Leadership(RelaySettings settings, SourceDatabase db, Lease lease) {
    this.settings = settings;
    this.db = db;
    this.lease = lease;
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

  private void open() {
    Connection c = db.connect();
    if (lease != null) {
      long ms = settings.standby().leaseTimeout().toMillis();
      try (Statement s = c.createStatement()) {
        s.execute("SET idle_session_timeout = " + ms);
        // A statement on a dead network fails after half the lease, not after the socket timeout.
        c.setNetworkTimeout(Runnable::run, (int) Math.max(1000, ms / 2));
      } catch (SQLException e) {
        try {
          c.close();
        } catch (SQLException ignored) {
          // closing what failed
        }
        if ("42704".equals(e.getSQLState())) {
          throw RelayException.fatal(
              "PostgreSQL lacks idle_session_timeout, which the relay's standby fencing needs: use"
                  + " PostgreSQL 14 or later");
        }
        throw db.translate(e, "setting up the relay lock's session on");
      }
    }
    connection = c;
  }

  /**
   * Takes the lock once, without waiting; when it is held, the lease starts.
   *
   * @return true when the lock is held now
   */
  synchronized boolean tryAcquire() {
    if (connection == null || !valid()) {
      closeQuietly();
      open();
    }
    long sentAt = lease == null ? 0 : lease.now();
    try (PreparedStatement ps = connection.prepareStatement(TRY_LOCK)) {
      ps.setString(1, settings.slot());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        boolean held = rs.getBoolean(1);
        if (held && lease != null) {
          lease.renewed(sentAt);
        }
        return held;
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
   * Renews the lease with a statement on the lock session. A live session holds the lock (it is
   * released only when the session ends), so success means this relay still leads.
   *
   * @return false when the session is gone, and the lock with it
   */
  synchronized boolean renew() {
    if (connection == null) {
      lease.lost();
      return false;
    }
    long sentAt = lease.now();
    try (Statement s = connection.createStatement()) {
      s.execute("SELECT 1");
      lease.renewed(sentAt);
      return true;
    } catch (SQLException e) {
      log.warn("the relay lock's session of slot {} is gone: {}", settings.slot(), e.getMessage());
      closeQuietly();
      return false;
    }
  }

  /**
   * Whether this relay may still act as the leader: its lease is running, or a renewal now
   * succeeds. Called before every publish; costs one clock reading while the lease runs.
   */
  boolean confirm() {
    return lease.valid() || (renew() && lease.valid());
  }

  Lease lease() {
    return lease;
  }

  /**
   * Makes this relay the slot's leader of a new epoch and returns it. Call with the lock held and
   * the state tables in place. Waits for an offset write of the previous leader that is under way
   * (it holds the epoch's row), which PostgreSQL ends after the lease timeout if that relay froze.
   */
  long claimEpoch() {
    String table = StateTables.leaders(settings);
    try (Connection c = db.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO "
                    + table
                    + " AS l (slot_name, epoch, holder, since) VALUES (?, 1, ?, now())"
                    + " ON CONFLICT (slot_name) DO UPDATE SET epoch = l.epoch + 1,"
                    + " holder = excluded.holder, since = now() RETURNING epoch")) {
      ps.setString(1, settings.slot());
      ps.setString(2, self());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw db.translate(e, "raising the leader epoch in " + table + " on");
    }
  }

  /** The slot's current leader epoch, or null when none was claimed. */
  Long currentEpoch() {
    try (Connection c = db.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT epoch FROM " + StateTables.leaders(settings) + " WHERE slot_name = ?")) {
      ps.setString(1, settings.slot());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : null;
      }
    } catch (SQLException e) {
      throw db.translate(e, "reading the leader epoch on");
    }
  }

  /**
   * Ends the walsender that still streams the slot, if any: the previous leader's, which lost the
   * lock. Without this the slot stays busy until PostgreSQL's {@code wal_sender_timeout} (60 s by
   * default) or TCP keepalives end it. Needs the same role as the previous leader, or {@code
   * pg_signal_backend}; without it the engine start is retried until PostgreSQL frees the slot.
   */
  void evictPreviousWalsender() {
    Integer pid = null;
    try (Connection c = db.connect()) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ? AND active")) {
        ps.setString(1, settings.slot());
        try (ResultSet rs = ps.executeQuery()) {
          pid = rs.next() ? (Integer) rs.getObject(1) : null;
        }
      }
      if (pid == null) {
        return;
      }
      log.warn(
          "slot {} is still streamed by backend {}, the walsender of the relay that lost the lock:"
              + " ending it",
          settings.slot(),
          pid);
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_terminate_backend(?, 10000)")) {
        ps.setInt(1, pid);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next() && !rs.getBoolean(1)) {
            log.warn("backend {} did not end within 10 s; the engine start is retried", pid);
          }
        }
      }
    } catch (SQLException e) {
      if ("42501".equals(e.getSQLState())) {
        log.warn(
            "may not end backend {} ({}), the walsender of the previous leader of slot {}: the"
                + " slot is freed only when PostgreSQL ends it (wal_sender_timeout, TCP keepalives)."
                + " Run every relay of a slot as the same role, or GRANT pg_signal_backend TO {};",
            pid,
            e.getMessage(),
            settings.slot(),
            settings.dbUser());
        return;
      }
      throw db.translate(e, "freeing slot " + settings.slot() + " on");
    }
  }

  /** {@code <pid>@<host>} of this relay, as the leaders table shows it. */
  static String self() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = String.valueOf(System.getenv("HOSTNAME"));
    }
    return ProcessHandle.current().pid() + "@" + host;
  }

  /**
   * The slot's retained WAL in bytes, which also proves the lock's session is alive (and renews the
   * lease).
   *
   * @throws RelayException retryable when the session is gone (the lock with it)
   */
  synchronized long retainedWalBytes() {
    if (connection == null) {
      throw RelayException.retryable("the relay lock's connection is closed", null);
    }
    long sentAt = lease == null ? 0 : lease.now();
    try (PreparedStatement ps =
        connection.prepareStatement(
            "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), -1)::bigint"
                + " FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, settings.slot());
      try (ResultSet rs = ps.executeQuery()) {
        long bytes = rs.next() ? rs.getLong(1) : -1;
        if (lease != null) {
          lease.renewed(sentAt);
        }
        return bytes;
      }
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
    if (lease != null) {
      lease.lost();
    }
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
