package io.outboxkit.consumer;

import java.util.regex.Pattern;

/** NATS name and subject rules the builder checks, so that mistakes surface in build(). */
final class Subjects {
  /** Durable names: safe as a file name, a subject token and an inbox key. */
  static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,128}");

  private Subjects() {}

  /** A stream name: printable ASCII without space, '.', '*', '>', '/', '\'. */
  static boolean validStreamName(String s) {
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
  static boolean validSubject(String s, boolean wildcards) {
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
  static boolean matches(String filter, String subject) {
    String[] f = filter.split("\\.", -1);
    String[] s = subject.split("\\.", -1);
    for (int i = 0; i < f.length; i++) {
      if (f[i].equals(">")) {
        return s.length > i;
      }
      if (i >= s.length || !(f[i].equals("*") || f[i].equals(s[i]))) {
        return false;
      }
    }
    return f.length == s.length;
  }
}
