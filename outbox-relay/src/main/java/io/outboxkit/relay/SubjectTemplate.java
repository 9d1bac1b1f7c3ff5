package io.outboxkit.relay;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The subject an outbox row is published on, from a template such as {@code
 * outbox.{aggregate_type}.{event_type}}.
 *
 * <p>The rule for values: each becomes exactly one subject token. Characters {@code A-Z a-z 0-9 -
 * _} stay as they are; every other character (including {@code .}, {@code *}, {@code >}, {@code %},
 * whitespace, control and non-ASCII characters) is written as {@code %XX}, the upper-case hex of
 * each of its UTF-8 bytes. The rule is reversible, so two different types never share a subject,
 * and {@code MeterReading} stays readable. Empty values never reach it: the outbox table refuses
 * them, and the relay dead-letters a row that has one.
 */
final class SubjectTemplate {
  static final String AGGREGATE_TYPE = "{aggregate_type}";
  static final String EVENT_TYPE = "{event_type}";
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private final String template;
  private final List<Part> parts;

  private sealed interface Part {}

  private record Literal(String text) implements Part {}

  private record AggregateType() implements Part {}

  private record EventType() implements Part {}

  private SubjectTemplate(String template, List<Part> parts) {
    this.template = template;
    this.parts = parts;
  }

  /**
   * Parses and checks a template: tokens separated by {@code .}, each either a literal NATS token
   * or exactly one placeholder.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  static SubjectTemplate parse(String template) {
    if (template == null || template.isBlank()) {
      throw new IllegalArgumentException("the subject template is empty");
    }
    List<Part> parts = new ArrayList<>();
    String[] tokens = template.split("\\.", -1);
    for (int i = 0; i < tokens.length; i++) {
      String token = tokens[i];
      if (i > 0) {
        parts.add(new Literal("."));
      }
      if (token.equals(AGGREGATE_TYPE)) {
        parts.add(new AggregateType());
      } else if (token.equals(EVENT_TYPE)) {
        parts.add(new EventType());
      } else if (token.contains("{") || token.contains("}")) {
        throw new IllegalArgumentException(
            "subject template token '"
                + token
                + "' is not a placeholder: a token is either literal or exactly "
                + AGGREGATE_TYPE
                + " or "
                + EVENT_TYPE);
      } else if (token.isEmpty() || !validLiteral(token)) {
        throw new IllegalArgumentException(
            "subject template token '"
                + token
                + "' is not a valid NATS subject token (empty, whitespace, * or >)");
      } else {
        parts.add(new Literal(token));
      }
    }
    // Merge adjacent literals for a cheaper render.
    List<Part> merged = new ArrayList<>();
    for (Part p : parts) {
      if (p instanceof Literal l
          && !merged.isEmpty()
          && merged.get(merged.size() - 1) instanceof Literal prev) {
        merged.set(merged.size() - 1, new Literal(prev.text() + l.text()));
      } else {
        merged.add(p);
      }
    }
    return new SubjectTemplate(template, List.copyOf(merged));
  }

  private static boolean validLiteral(String token) {
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c <= ' ' || c == '*' || c == '>' || c == 127) {
        return false;
      }
    }
    return true;
  }

  /** The subject for a row; values are encoded by the token rule. */
  String render(String aggregateType, String eventType) {
    StringBuilder sb = new StringBuilder(template.length() + 32);
    for (Part p : parts) {
      if (p instanceof Literal l) {
        sb.append(l.text());
      } else if (p instanceof AggregateType) {
        appendToken(sb, aggregateType);
      } else {
        appendToken(sb, eventType);
      }
    }
    return sb.toString();
  }

  /**
   * The template as a NATS wildcard subject (placeholders as {@code *}), to check that a stream's
   * subjects cover every subject the relay can publish on.
   */
  String wildcard() {
    StringBuilder sb = new StringBuilder();
    for (Part p : parts) {
      sb.append(p instanceof Literal l ? l.text() : "*");
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return template;
  }

  /** Appends {@code value} as one subject token by the rule in the class comment. */
  static void appendToken(StringBuilder sb, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if ((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '_') {
        sb.append(c);
      } else {
        int end = Character.isHighSurrogate(c) && i + 1 < value.length() ? i + 2 : i + 1;
        for (byte b : value.substring(i, end).getBytes(StandardCharsets.UTF_8)) {
          sb.append('%').append(HEX[(b >> 4) & 0xF]).append(HEX[b & 0xF]);
        }
        i = end - 1;
      }
    }
  }

  /** Encodes one value as a subject token. */
  static String token(String value) {
    StringBuilder sb = new StringBuilder(value.length() + 8);
    appendToken(sb, value);
    return sb.toString();
  }
}
