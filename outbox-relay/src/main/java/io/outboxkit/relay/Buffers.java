package io.outboxkit.relay;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** The one way the relay turns what Debezium and Kafka Connect hand it into bytes. */
final class Buffers {
  private Buffers() {}

  /** The bytes of a {@code byte[]}, {@link ByteBuffer} (its remaining bytes) or text; else null. */
  static byte[] bytes(Object value) {
    if (value instanceof byte[] b) {
      return b;
    }
    if (value instanceof ByteBuffer bb) {
      ByteBuffer d = bb.duplicate();
      byte[] out = new byte[d.remaining()];
      d.get(out);
      return out;
    }
    if (value instanceof String s) {
      return s.getBytes(StandardCharsets.UTF_8);
    }
    return null;
  }
}
