package io.outboxkit.relay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Reads LSNs out of Debezium's PostgreSQL offsets, and converts between {@code X/Y} and long. */
final class OffsetLsn {
  private static final ObjectMapper JSON = new ObjectMapper();

  private OffsetLsn() {}

  /** The {@code lsn} of a stored offset value, or null. */
  static Long lsnOf(ByteBuffer value) {
    byte[] bytes = Buffers.bytes(value);
    try {
      JsonNode node = JSON.readTree(bytes);
      JsonNode lsn = node == null ? null : node.get("lsn");
      return lsn == null || !lsn.canConvertToLong() ? null : lsn.asLong();
    } catch (IOException e) {
      return null;
    }
  }

  static long parse(String lsn) {
    int slash = lsn.indexOf('/');
    return (Long.parseLong(lsn.substring(0, slash), 16) << 32)
        | Long.parseLong(lsn.substring(slash + 1), 16);
  }

  static String format(long lsn) {
    return Long.toHexString(lsn >>> 32).toUpperCase()
        + "/"
        + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
  }
}
