package io.outboxkit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The reversible encoding of NATS header values, part of the wire contract between the relay and
 * consumers in any language.
 *
 * <p>NATS header values are US-ASCII without CR or LF, and a server or client may trim their
 * leading and trailing spaces. Outbox values (aggregate ids with names and addresses, event types,
 * row headers, error messages) may hold any Unicode text. So a value is sent as it is when every
 * character is printable ASCII ({@code 0x20}-{@code 0x7E}), it does not begin or end with a space,
 * it is not empty, and it does not begin with the marker {@value #MARKER}. Any other value is sent
 * as the marker followed by its UTF-8 bytes, each byte outside {@code 0x21}-{@code 0x7E} and every
 * {@code %} written as {@code %XX} (upper-case hex). This is the {@code ext-value} form of RFC
 * 8187: {@code Zürich} travels as {@code UTF-8''Z%C3%BCrich}. Decoding a value without the marker
 * returns it unchanged, so plain ASCII values cost nothing.
 *
 * <pre>{@code
 * String onTheWire = HeaderValues.encode("Zählerstand Süd");   // UTF-8''Z%C3%A4hlerstand%20S%C3%BCd
 * String original = HeaderValues.decode(onTheWire);           // Zählerstand Süd
 * }</pre>
 */
public final class HeaderValues {
  /** Marks an encoded value (the RFC 8187 charset prefix with an empty language tag). */
  public static final String MARKER = "UTF-8''";

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private HeaderValues() {}

  /** Whether {@code value} is sent as it is. */
  public static boolean isPlain(String value) {
    int n = value.length();
    if (n == 0 || value.charAt(0) == ' ' || value.charAt(n - 1) == ' ') {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c > 0x7E) {
        return false;
      }
    }
    return !value.startsWith(MARKER);
  }

  /**
   * The value as a NATS header can carry it: unchanged when plain, else marked and percent-encoded.
   */
  public static String encode(String value) {
    if (isPlain(value)) {
      return value;
    }
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    StringBuilder sb = new StringBuilder(MARKER.length() + bytes.length * 3);
    sb.append(MARKER);
    for (byte b : bytes) {
      int u = b & 0xFF;
      if (u > 0x20 && u < 0x7F && u != '%') {
        sb.append((char) u);
      } else {
        sb.append('%').append(HEX[u >> 4]).append(HEX[u & 0xF]);
      }
    }
    return sb.toString();
  }

  /**
   * The original value of a header as received: decoded when it carries the marker, else unchanged.
   * A marked value that is not valid percent-encoded UTF-8 is returned as received.
   */
  public static String decode(String value) {
    if (value == null || !value.startsWith(MARKER)) {
      return value;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(value.length());
    for (int i = MARKER.length(); i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '%') {
        if (i + 2 >= value.length()) {
          return value;
        }
        int hi = Character.digit(value.charAt(i + 1), 16);
        int lo = Character.digit(value.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          return value;
        }
        out.write(hi << 4 | lo);
        i += 2;
      } else if (c > 0x20 && c < 0x7F) {
        out.write(c);
      } else {
        return value;
      }
    }
    byte[] bytes = out.toByteArray();
    try {
      return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return value;
    }
  }

  /**
   * The encoded value, cut so that it is at most {@code maxLength} characters long on the wire and
   * still decodes: for error messages and other text that may be shortened.
   */
  public static String encodeAtMost(String value, int maxLength) {
    String encoded = encode(value);
    if (encoded.length() <= maxLength) {
      return encoded;
    }
    // Shorten the text, not the encoding, so that no %XX or UTF-8 sequence is cut in half.
    int lo = 0;
    int hi = value.length();
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (encode(cut(value, mid) + "...").length() <= maxLength) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return encode(cut(value, lo) + "...");
  }

  private static String cut(String value, int length) {
    if (length > 0
        && length < value.length()
        && Character.isHighSurrogate(value.charAt(length - 1))) {
      length--;
    }
    return value.substring(0, length);
  }
}
