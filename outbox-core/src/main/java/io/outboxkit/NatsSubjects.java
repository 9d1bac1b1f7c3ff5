package io.outboxkit;

/**
 * The NATS subject and name rules outboxkit checks settings against: one place for the consumer,
 * the relay and the samples.
 *
 * <pre>{@code
 * NatsSubjects.isValidSubject("outbox.meter.>", true);            // true
 * NatsSubjects.matches("outbox.*.ReadingRecorded", "outbox.meter.ReadingRecorded"); // true
 * NatsSubjects.covers("outbox.>", "outbox.*.*");                  // true
 * }</pre>
 */
public final class NatsSubjects {
  private NatsSubjects() {}

  /** A stream or durable name: 1-255 printable ASCII characters without space . * > / \ . */
  public static boolean isValidName(String s) {
    if (s == null || s.isEmpty() || s.length() > 255) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 33 || c > 126 || c == '.' || c == '*' || c == '>' || c == '/' || c == '\\') {
        return false;
      }
    }
    return true;
  }

  /**
   * A subject: dot-separated non-empty tokens of printable ASCII; with {@code wildcards}, a token
   * may be {@code *}, and the last token may be {@code >}.
   */
  public static boolean isValidSubject(String s, boolean wildcards) {
    if (s == null || s.isEmpty()) {
      return false;
    }
    String[] tokens = s.split("\\.", -1);
    for (int t = 0; t < tokens.length; t++) {
      String token = tokens[t];
      if (token.isEmpty()) {
        return false;
      }
      for (int i = 0; i < token.length(); i++) {
        char c = token.charAt(i);
        if (c < 33 || c > 126) {
          return false;
        }
        if ((c == '*' || c == '>') && !(wildcards && token.length() == 1)) {
          return false;
        }
        if (c == '>' && t != tokens.length - 1) {
          return false;
        }
      }
    }
    return true;
  }

  /** Whether the literal {@code subject} matches {@code filter} (which may hold wildcards). */
  public static boolean matches(String filter, String subject) {
    return covers(filter, subject);
  }

  /**
   * Whether the filter {@code filter} matches every subject that {@code subject} can match; {@code
   * subject} may hold wildcards too ({@code covers("outbox.>", "outbox.*.*")} is true).
   */
  public static boolean covers(String filter, String subject) {
    String[] f = filter.split("\\.", -1);
    String[] s = subject.split("\\.", -1);
    for (int i = 0; i < f.length; i++) {
      if (f[i].equals(">")) {
        return i < s.length;
      }
      if (i >= s.length || s[i].equals(">")) {
        return false;
      }
      if (!f[i].equals("*") && !f[i].equals(s[i])) {
        return false;
      }
    }
    return f.length == s.length;
  }
}
