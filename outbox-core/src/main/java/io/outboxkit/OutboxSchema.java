package io.outboxkit;

import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;

/**
 * Creates and upgrades the outbox and inbox tables with the Flyway migrations shipped in this jar.
 * Each table keeps its own history table ({@code <table>_schema_history}) so that it never
 * interferes with the application's own Flyway history.
 *
 * <pre>{@code
 * OutboxSchema.migrateOutbox(dataSource, TableName.DEFAULT_OUTBOX);  // writers
 * OutboxSchema.migrateInbox(dataSource, TableName.DEFAULT_INBOX);    // consumers
 * }</pre>
 *
 * <p>The outbox table is the contract for writers in any language:
 *
 * <pre>
 * id             uuid        primary key, UUIDv7 (default schema.outboxkit_uuid_v7())
 * aggregate_type text        not null, 1..255 characters
 * aggregate_id   text        not null, 1..255 characters
 * event_type     text        not null, 1..255 characters
 * payload        bytea       not null, passed to NATS as it is
 * headers        jsonb       null, or an object of string values
 * created_at     timestamptz not null default now()
 * </pre>
 */
public final class OutboxSchema {
  private OutboxSchema() {}

  /** Creates or upgrades the outbox table. Idempotent. */
  public static void migrateOutbox(DataSource dataSource, TableName table) {
    migrate(dataSource, table, "outbox");
  }

  /** Creates or upgrades the consumers' inbox table. Idempotent. */
  public static void migrateInbox(DataSource dataSource, TableName table) {
    migrate(dataSource, table, "inbox");
  }

  private static void migrate(DataSource dataSource, TableName table, String kind) {
    try {
      Flyway.configure(OutboxSchema.class.getClassLoader())
          .dataSource(dataSource)
          .schemas(table.schema())
          .createSchemas(true)
          // The application's own tables may already be in the schema: that is no reason to stop.
          .baselineOnMigrate(true)
          .baselineVersion("0")
          .table(table.name() + "_schema_history")
          .locations("classpath:io/outboxkit/migration/" + kind)
          .placeholders(Map.of("schema", table.schema(), "table", table.name()))
          .loggers("slf4j")
          .load()
          .migrate();
    } catch (FlywayException e) {
      throw new OutboxException(
          "migrating the " + kind + " table " + table + " failed: " + e.getMessage(), e);
    }
  }
}
