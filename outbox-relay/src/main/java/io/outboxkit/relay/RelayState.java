package io.outboxkit.relay;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the relay keeps about a slot, as the CLI reads it: the stored offset (LSN and when it was
 * stored, or why it cannot be read), the record of the slot, and the slot itself.
 *
 * @param offsetLsn the stored offset's LSN, or null
 * @param storedAt when it was stored, or null
 * @param problem why the offsets cannot be read (corrupt), or null
 * @param recorded the relay has used this slot before
 * @param offsetsStored the relay has stored offsets for this slot before
 * @param slotExists the replication slot exists
 * @param slotConfirmedLsn its confirmed LSN, or null
 * @param slotWalLost the slot exists but PostgreSQL removed WAL it needs ({@code wal_status} lost)
 */
record RelayState(
    Long offsetLsn,
    OffsetDateTime storedAt,
    String problem,
    boolean recorded,
    boolean offsetsStored,
    boolean slotExists,
    Long slotConfirmedLsn,
    boolean slotWalLost) {

  static RelayState read(CliSession s, Connection c) throws SQLException {
    RelaySettings st = s.settings;
    String confirmed = null;
    boolean exists;
    boolean lost;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT confirmed_flush_lsn::text, wal_status = 'lost' FROM pg_replication_slots"
                + " WHERE slot_name = ?")) {
      ps.setString(1, st.slot());
      try (ResultSet rs = ps.executeQuery()) {
        exists = rs.next();
        confirmed = exists ? rs.getString(1) : null;
        lost = exists && rs.getBoolean(2);
      }
    }
    Long slotLsn = confirmed == null ? null : OffsetLsn.parse(confirmed);
    if (!stateTablesExist(c, st)) {
      return new RelayState(null, null, null, false, false, exists, slotLsn, lost); // never ran
    }
    Long lsn = null;
    String problem = null;
    try {
      lsn = ResumePosition.storedLsn(st);
    } catch (PostgresOffsetStore.CorruptOffsetException e) {
      problem = "corrupt offsets";
    }
    OffsetDateTime storedAt;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT max(updated_at) FROM "
                + st.offsetsTable().qualified()
                + " WHERE slot_name = ?")) {
      ps.setString(1, st.slot());
      try (ResultSet rs = ps.executeQuery()) {
        storedAt = rs.next() ? rs.getObject(1, OffsetDateTime.class) : null;
      }
    }
    boolean recorded = false;
    boolean offsetsStored = false;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT first_offset_at IS NOT NULL FROM "
                + StateTables.slots(st)
                + " WHERE slot_name = ?")) {
      ps.setString(1, st.slot());
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          recorded = true;
          offsetsStored = rs.getBoolean(1);
        }
      }
    }
    return new RelayState(lsn, storedAt, problem, recorded, offsetsStored, exists, slotLsn, lost);
  }

  private static boolean stateTablesExist(Connection c, RelaySettings st) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT to_regclass(?) IS NOT NULL AND to_regclass(?) IS NOT NULL")) {
      ps.setString(1, st.offsetsTable().qualified());
      ps.setString(2, StateTables.slots(st));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  Map<String, Object> asMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("lsn", offsetLsn == null ? null : OffsetLsn.format(offsetLsn));
    m.put("storedAt", storedAt == null ? null : storedAt.toString());
    m.put("problem", problem);
    m.put("slotRecorded", recorded);
    return m;
  }
}
