package io.outboxkit.relay;

import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.Objects;

/** Where the engine will resume: the stored offset's LSN, else the slot's confirmed position. */
final class ResumePosition {
  private ResumePosition() {}

  /**
   * The LSN of the stored offset, or null when none is stored.
   *
   * @throws PostgresOffsetStore.CorruptOffsetException when a stored offset does not parse
   */
  static Long storedLsn(RelaySettings settings) {
    Map<ByteBuffer, ByteBuffer> rows =
        PostgresOffsetStore.load(
            settings.jdbcProperties(), settings.offsetsTable().qualified(), settings.slot());
    return rows.values().stream()
        .map(OffsetLsn::lsnOf)
        .filter(Objects::nonNull)
        .max(Long::compareUnsigned)
        .orElse(null);
  }

  /**
   * @return the LSN, or null when neither an offset nor the slot exists (a first start)
   */
  static Long of(RelaySettings settings, SourceDatabase db) {
    Long stored = storedLsn(settings);
    if (stored != null) {
      return stored;
    }
    try (Connection c = db.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = ?")) {
      ps.setString(1, settings.slot());
      try (ResultSet rs = ps.executeQuery()) {
        String lsn = rs.next() ? rs.getString(1) : null;
        return lsn == null ? null : OffsetLsn.parse(lsn);
      }
    } catch (SQLException e) {
      throw db.translate(e, "reading the slot's position from");
    }
  }
}
