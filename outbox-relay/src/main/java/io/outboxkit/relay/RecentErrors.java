package io.outboxkit.relay;

import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last errors the relay met (engine failures, publish retries, dead letters, a lost lock), for
 * the status page: at most {@value #CAPACITY}, newest first. A repeat of the newest one (the same
 * source and text, as in a retry loop) is counted, not added. Texts are descriptions the relay
 * writes itself ({@code OutboxException.describe}, its own messages), never payloads; credentials
 * in URLs are redacted, control characters replaced and each text cut at {@value #MAX_LENGTH}
 * characters.
 */
@Singleton
final class RecentErrors {
  static final int CAPACITY = 20;
  static final int MAX_LENGTH = 400;

  /** One error: when it was last seen, what reported it, what it said, how often in a row. */
  record Entry(Instant at, String source, String message, int count) {}

  private final ArrayDeque<Entry> entries = new ArrayDeque<>();

  synchronized void add(String source, String message) {
    String text = clean(message);
    Instant now = Instant.now();
    Entry newest = entries.peekFirst();
    if (newest != null && newest.source().equals(source) && newest.message().equals(text)) {
      entries.removeFirst();
      entries.addFirst(new Entry(now, source, text, newest.count() + 1));
      return;
    }
    entries.addFirst(new Entry(now, source, text, 1));
    if (entries.size() > CAPACITY) {
      entries.removeLast();
    }
  }

  /** Newest first. */
  synchronized List<Entry> list() {
    return new ArrayList<>(entries);
  }

  static String clean(String message) {
    String s = Redact.url(message == null ? "(no description)" : message);
    StringBuilder sb = new StringBuilder(Math.min(s.length(), MAX_LENGTH + 1));
    for (int i = 0; i < s.length() && sb.length() < MAX_LENGTH; i++) {
      char c = s.charAt(i);
      sb.append(Character.isISOControl(c) ? ' ' : c);
    }
    if (s.length() > MAX_LENGTH) {
      // never leave half of a surrogate pair at the cut
      if (Character.isHighSurrogate(sb.charAt(sb.length() - 1))) {
        sb.setLength(sb.length() - 1);
      }
      sb.append('…');
    }
    return sb.toString();
  }
}
