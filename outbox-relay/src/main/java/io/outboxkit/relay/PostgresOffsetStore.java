package io.outboxkit.relay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.storage.MemoryOffsetBackingStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Debezium's offsets in a PostgreSQL table of the source database. Every flush replaces the rows of
 * this slot in one transaction, so an offset is never torn; a row that does not parse fails the
 * start loudly instead of meaning "start from now". Public only because Debezium instantiates it by
 * class name.
 */
public final class PostgresOffsetStore extends MemoryOffsetBackingStore {
  /** Prefix of the JDBC connection properties ({@link RelaySettings#jdbcProperties}). */
  static final String JDBC = "offset.storage.outboxkit.jdbc.";

  static final String TABLE = "offset.storage.outboxkit.table";
  static final String SLOT = "offset.storage.outboxkit.slot";

  /** The leader epoch of this engine run: every save checks it is still the slot's epoch. */
  static final String EPOCH = "offset.storage.outboxkit.epoch";

  /** The table of the leader epochs ({@link StateTables#leaders}). */
  static final String LEADERS = "offset.storage.outboxkit.leaders-table";

  /** {@code standby.lease-timeout} in ms: the save session's idle-in-transaction timeout. */
  static final String LEASE_MS = "offset.storage.outboxkit.lease-timeout-ms";

  private static final Logger log = LoggerFactory.getLogger(PostgresOffsetStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private Properties jdbc;
  private String table;
  private String slot;
  private Connection connection;
  private boolean slotMarked;
  private Long epoch;
  private String leaders;
  private long leaseMillis;
  private volatile String fenced;

  public PostgresOffsetStore() {}

  @Override
  public void configure(WorkerConfig config) {
    super.configure(config);
    Map<String, String> originals = config.originalsStrings();
    jdbc = new Properties();
    originals.forEach(
        (k, v) -> {
          if (k.startsWith(JDBC)) {
            jdbc.setProperty(k.substring(JDBC.length()), v);
          }
        });
    if (jdbc.isEmpty()) {
      throw new ConnectException("offset store settings " + JDBC + "* are missing");
    }
    table = require(originals, TABLE);
    slot = require(originals, SLOT);
    String e = originals.get(EPOCH);
    epoch = e == null || e.isBlank() ? null : Long.valueOf(e);
    if (epoch != null) {
      leaders = require(originals, LEADERS);
      leaseMillis = Long.parseLong(require(originals, LEASE_MS));
    }
  }

  private static String require(Map<String, String> originals, String key) {
    String v = originals.get(key);
    if (v == null || v.isBlank()) {
      throw new ConnectException("offset store setting " + key + " is missing");
    }
    return v;
  }

  @Override
  public synchronized void start() {
    super.start();
    data = new HashMap<>(load(jdbc, table, slot));
  }

  @Override
  public synchronized void stop() {
    super.stop();
    closeConnection();
  }

  /**
   * Reads the offsets of {@code slot}; a value that is not a JSON object fails loudly.
   *
   * @throws ConnectException naming the table, the slot and the fix
   */
  static Map<ByteBuffer, ByteBuffer> load(Properties jdbc, String table, String slot) {
    Map<ByteBuffer, ByteBuffer> rows = new HashMap<>();
    try (Connection c = DriverManager.getConnection(RelaySettings.JDBC_URL, jdbc);
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT offset_key, offset_value FROM " + table + " WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          byte[] key = rs.getBytes(1);
          byte[] value = rs.getBytes(2);
          checkParses(table, slot, key, value);
          rows.put(ByteBuffer.wrap(key), ByteBuffer.wrap(value));
        }
      }
    } catch (SQLException e) {
      throw new ConnectException("reading offsets from " + table + " failed: " + e.getMessage(), e);
    }
    return rows;
  }

  private static void checkParses(String table, String slot, byte[] key, byte[] value) {
    try {
      JsonNode k = JSON.readTree(key);
      JsonNode v = JSON.readTree(value);
      if (k == null || !k.isArray() || v == null || !v.isObject() || !v.has("lsn")) {
        throw new IOException("not a Debezium offset");
      }
    } catch (IOException e) {
      throw new CorruptOffsetException(
          "the stored offset of slot "
              + slot
              + " in "
              + table
              + " is corrupt ("
              + e.getMessage()
              + "). The relay will not guess where to resume: run outboxkit relay reset, which"
              + " deletes them (the relay then resumes from the slot's own position) or, when the"
              + " slot is gone too, recovers the gap (README: 'Recovering after a gap').");
    }
  }

  /** A stored offset that does not parse: never a reason to start from somewhere else. */
  static final class CorruptOffsetException extends ConnectException {
    private static final long serialVersionUID = 1L;

    CorruptOffsetException(String message) {
      super(message);
    }
  }

  /**
   * An offset write refused because another relay leads the slot now (a higher epoch): this relay
   * was fenced and must stop.
   */
  static final class FencedException extends ConnectException {
    private static final long serialVersionUID = 1L;

    FencedException(String message) {
      super(message);
    }
  }

  /**
   * Stores the offsets in one transaction that first checks, holding the epoch's row, that this
   * relay's epoch is still the slot's: a relay that lost the lead stores nothing, and a new leader
   * (which raises the epoch on that row) waits for a write under way and then reads its result.
   */
  @Override
  protected synchronized void save() {
    if (fenced != null) {
      throw new FencedException(fenced);
    }
    try {
      if (connection == null || connection.isClosed()) {
        connection = DriverManager.getConnection(RelaySettings.JDBC_URL, jdbc);
        if (epoch != null) {
          try (java.sql.Statement s = connection.createStatement()) {
            // A relay frozen inside this transaction must not hold the epoch's row for long.
            s.execute("SET idle_in_transaction_session_timeout = " + leaseMillis);
          }
        }
        connection.setAutoCommit(false);
      }
      if (epoch != null) {
        Long current = null;
        try (PreparedStatement ps =
            connection.prepareStatement(
                "SELECT epoch FROM " + leaders + " WHERE slot_name = ? FOR SHARE")) {
          ps.setString(1, slot);
          try (ResultSet rs = ps.executeQuery()) {
            current = rs.next() ? rs.getLong(1) : null;
          }
        }
        if (!epoch.equals(current)) {
          connection.rollback();
          fenced =
              "fenced: relay epoch "
                  + epoch
                  + " of slot "
                  + slot
                  + " was superseded by epoch "
                  + current
                  + " (another relay took over); offset not stored";
          log.error("{}", fenced);
          throw new FencedException(fenced);
        }
      }
      try (PreparedStatement ps =
          connection.prepareStatement(
              "INSERT INTO "
                  + table
                  + " (slot_name, offset_key, offset_value, updated_at, epoch)"
                  + " VALUES (?, ?, ?, now(), ?)"
                  + " ON CONFLICT (slot_name, offset_key) DO UPDATE"
                  + " SET offset_value = excluded.offset_value, updated_at = now(),"
                  + " epoch = excluded.epoch")) {
        for (Map.Entry<ByteBuffer, ByteBuffer> e : data.entrySet()) {
          if (e.getValue() == null) {
            continue;
          }
          ps.setString(1, slot);
          ps.setBytes(2, bytes(e.getKey()));
          ps.setBytes(3, bytes(e.getValue()));
          ps.setObject(4, epoch, java.sql.Types.BIGINT);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      if (!slotMarked) {
        try (PreparedStatement ps =
            connection.prepareStatement(
                "UPDATE "
                    + table
                    + "_slots SET first_offset_at = now() WHERE slot_name = ?"
                    + " AND first_offset_at IS NULL")) {
          ps.setString(1, slot);
          ps.executeUpdate();
        }
      }
      connection.commit();
      slotMarked = true;
    } catch (SQLException e) {
      try {
        if (connection != null) {
          connection.rollback();
        }
      } catch (SQLException ignored) {
        // the connection is broken; it is replaced on the next save
      }
      closeConnection();
      log.warn("saving offsets to {} failed; the next batch retries: {}", table, e.getMessage());
      throw new ConnectException("saving offsets to " + table + " failed: " + e.getMessage(), e);
    }
  }

  private void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // closing a broken connection
      }
      connection = null;
    }
  }

  private static byte[] bytes(ByteBuffer b) {
    return Buffers.bytes(b);
  }

  @Override
  public Set<Map<String, Object>> connectorPartitions(String connectorName) {
    Set<Map<String, Object>> partitions = new HashSet<>();
    for (ByteBuffer key : data.keySet()) {
      try {
        List<?> parts = JSON.readValue(bytes(key), List.class);
        if (parts.size() == 2
            && connectorName.equals(parts.get(0))
            && parts.get(1) instanceof Map) {
          @SuppressWarnings("unchecked")
          Map<String, Object> partition = (Map<String, Object>) parts.get(1);
          partitions.add(partition);
        }
      } catch (IOException e) {
        // not a partition key
      }
    }
    return partitions;
  }
}
