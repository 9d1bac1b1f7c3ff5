package io.outboxkit.relay;

import java.util.List;
import java.util.regex.Pattern;

/** Removes secrets from text the relay prints: user info in URLs ({@code nats://u:p@host}). */
final class Redact {
  private static final Pattern USER_INFO =
      Pattern.compile("(?i)\\b([a-z][a-z0-9+.-]*://)[^/@\\s]*@");

  private Redact() {}

  /** {@code nats://user:secret@host:4222} becomes {@code nats://***@host:4222}. */
  static String url(String text) {
    return text == null ? null : USER_INFO.matcher(text).replaceAll("$1***@");
  }

  static List<String> urls(List<String> urls) {
    return urls == null ? null : urls.stream().map(Redact::url).toList();
  }
}
