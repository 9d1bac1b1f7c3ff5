package io.outboxkit;

import java.util.List;

/**
 * The columns of the outbox table: the contract between writers in any language, the relay and the
 * shipped migration. The one place their names are written in Java.
 *
 * <pre>{@code
 * String insert = "INSERT INTO outbox (" + String.join(", ", OutboxColumns.WRITTEN) + ") ...";
 * }</pre>
 */
public final class OutboxColumns {
  public static final String ID = "id";
  public static final String AGGREGATE_TYPE = "aggregate_type";
  public static final String AGGREGATE_ID = "aggregate_id";
  public static final String EVENT_TYPE = "event_type";
  public static final String PAYLOAD = "payload";
  public static final String HEADERS = "headers";
  public static final String CREATED_AT = "created_at";

  /** The columns a writer sets and the relay reads, in this order. */
  public static final List<String> WRITTEN =
      List.of(ID, AGGREGATE_TYPE, AGGREGATE_ID, EVENT_TYPE, PAYLOAD, HEADERS);

  private OutboxColumns() {}
}
