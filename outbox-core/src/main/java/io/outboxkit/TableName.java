package io.outboxkit;

import java.util.regex.Pattern;

/**
 * A schema-qualified table name, checked to be a plain SQL identifier so it can be placed into
 * statements safely.
 *
 * <pre>{@code
 * TableName outbox = TableName.of("billing", "outbox");   // billing.outbox
 * TableName parsed = TableName.parse("public.outbox");
 * }</pre>
 *
 * @param schema the schema, e.g. {@code public}
 * @param name the table name, e.g. {@code outbox}
 */
public record TableName(String schema, String name) {
  private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  /** The default outbox table, {@code public.outbox}. */
  public static final TableName DEFAULT_OUTBOX = new TableName("public", "outbox");

  /** The default inbox table, {@code public.outbox_inbox}. */
  public static final TableName DEFAULT_INBOX = new TableName("public", "outbox_inbox");

  public TableName {
    check("schema", schema);
    check("table", name);
  }

  public static TableName of(String schema, String name) {
    return new TableName(schema, name);
  }

  /** Parses {@code schema.table}, or {@code table} in schema {@code public}. */
  public static TableName parse(String qualified) {
    if (qualified == null || qualified.isBlank()) {
      throw new OutboxException("table name is empty: give it as schema.table, e.g. public.outbox");
    }
    int dot = qualified.indexOf('.');
    return dot < 0
        ? new TableName("public", qualified.trim())
        : new TableName(qualified.substring(0, dot).trim(), qualified.substring(dot + 1).trim());
  }

  /** The name as it appears in SQL, {@code schema.table}. */
  public String qualified() {
    return schema + "." + name;
  }

  @Override
  public String toString() {
    return qualified();
  }

  private static void check(String what, String value) {
    if (value == null || !IDENTIFIER.matcher(value).matches()) {
      throw new OutboxException(
          what
              + " name '"
              + value
              + "' is not a plain lower-case SQL identifier: use letters a-z, digits and _,"
              + " start with a letter or _, at most 63 characters");
    }
  }
}
