package io.outboxkit.relay;

import io.outboxkit.OutboxColumns;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Which column of the outbox table holds what the relay reads: the one place the relay's column
 * names are decided (settings {@code outboxkit.relay.columns.*}). outboxkit's own table by default
 * ({@link OutboxColumns}); a Debezium-style table ({@code aggregatetype}, {@code aggregateid},
 * {@code type}, {@code payload} as {@code jsonb} or {@code text}, no headers) with the preset
 * {@code debezium}.
 *
 * @param headers null when the table has no headers column
 * @param createdAt null when the table has no creation time column (the CLI's time ranges are off)
 */
record ColumnMap(
    String id,
    String aggregateType,
    String aggregateId,
    String eventType,
    String payload,
    String headers,
    String createdAt) {

  static final ColumnMap OUTBOXKIT =
      new ColumnMap(
          OutboxColumns.ID,
          OutboxColumns.AGGREGATE_TYPE,
          OutboxColumns.AGGREGATE_ID,
          OutboxColumns.EVENT_TYPE,
          OutboxColumns.PAYLOAD,
          OutboxColumns.HEADERS,
          OutboxColumns.CREATED_AT);

  /** The column names of Debezium's outbox event router (its {@code table.field.event.*}). */
  static final ColumnMap DEBEZIUM =
      new ColumnMap("id", "aggregatetype", "aggregateid", "type", "payload", null, null);

  static final Map<String, ColumnMap> PRESETS =
      Map.of("outboxkit", OUTBOXKIT, "debezium", DEBEZIUM);

  /**
   * Unquoted PostgreSQL identifiers only: the names go into SQL and Debezium's lists as they are.
   */
  private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_$]{0,62}");

  /** Types of the text columns the relay routes by. */
  static final List<String> TEXT = List.of("text", "character varying");

  /** Types of a payload: bytes as they are, or JSON/text published as its UTF-8 text. */
  static final List<String> PAYLOAD_TYPES =
      List.of("bytea", "jsonb", "json", "text", "character varying");

  /** A column the relay reads: its setting (under {@code outboxkit.relay.}), name, types. */
  record Column(String setting, String name, List<String> types) {}

  /** Every column the relay reads, with the setting that names it and the types it accepts. */
  List<Column> columns() {
    List<Column> c = new ArrayList<>();
    c.add(new Column("columns.id", id, List.of("uuid")));
    c.add(new Column("columns.aggregate-type", aggregateType, TEXT));
    c.add(new Column("columns.aggregate-id", aggregateId, TEXT));
    c.add(new Column("columns.event-type", eventType, TEXT));
    c.add(new Column("columns.payload", payload, PAYLOAD_TYPES));
    if (headers != null) {
      c.add(new Column("columns.headers", headers, List.of("jsonb", "json")));
    }
    return c;
  }

  /** The columns the publication sends and Debezium decodes. */
  List<String> published() {
    return columns().stream().map(Column::name).toList();
  }

  /** The mapping from the settings (see {@link #of(String, Map)}). */
  static ColumnMap of(RelayConfig.Columns c) {
    Map<String, String> given = new java.util.HashMap<>();
    given.put("columns.id", c.id());
    given.put("columns.aggregate-type", c.aggregateType());
    given.put("columns.aggregate-id", c.aggregateId());
    given.put("columns.event-type", c.eventType());
    given.put("columns.payload", c.payload());
    given.put("columns.headers", c.headers());
    given.put("columns.created-at", c.createdAt());
    given.values().removeIf(java.util.Objects::isNull);
    return of(c.preset(), given);
  }

  /**
   * The mapping from the settings: a preset ({@code outboxkit} or {@code debezium}), then each
   * column setting that is given; {@code headers} and {@code created-at} may be {@code none}.
   *
   * @param given setting (e.g. {@code columns.headers}) → value, null when not set
   * @throws RelayException naming the setting, for a name that is not a plain identifier or a
   *     column mapped twice
   */
  static ColumnMap of(String preset, Map<String, String> given) {
    String p = preset == null || preset.isBlank() ? "outboxkit" : preset.trim();
    ColumnMap base = PRESETS.get(p);
    if (base == null) {
      throw RelayException.badSetting(
          "outboxkit.relay.columns.preset",
          "is '" + preset + "'",
          "use outboxkit (default) or debezium (a table made for Debezium's outbox event router)");
    }
    ColumnMap m =
        new ColumnMap(
            name(given, "columns.id", base.id, false),
            name(given, "columns.aggregate-type", base.aggregateType, false),
            name(given, "columns.aggregate-id", base.aggregateId, false),
            name(given, "columns.event-type", base.eventType, false),
            name(given, "columns.payload", base.payload, false),
            name(given, "columns.headers", base.headers, true),
            name(given, "columns.created-at", base.createdAt, true));
    Map<String, String> seen = new LinkedHashMap<>();
    for (Column c : m.columns()) {
      String other = seen.putIfAbsent(c.name(), c.setting());
      if (other != null) {
        throw RelayException.badSetting(
            "outboxkit.relay." + c.setting(),
            "names column " + c.name() + ", which outboxkit.relay." + other + " names too",
            "map each of id, aggregate type, aggregate id, event type, payload and headers to a"
                + " column of its own");
      }
    }
    return m;
  }

  private static String name(Map<String, String> given, String setting, String base, boolean opt) {
    String v = given.get(setting);
    if (v == null) {
      return base;
    }
    v = v.trim();
    if (opt && (v.isEmpty() || v.equals("none"))) {
      return null;
    }
    if (!NAME.matcher(v).matches()) {
      throw RelayException.badSetting(
          "outboxkit.relay." + setting,
          "is '" + v + "'",
          "name a column of the outbox table: a lower-case unquoted identifier (a-z, 0-9, _)"
              + (opt ? ", or none when the table has no such column" : ""));
    }
    return v;
  }
}
