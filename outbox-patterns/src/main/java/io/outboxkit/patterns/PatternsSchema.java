package io.outboxkit.patterns;

import io.outboxkit.OutboxException;
import io.outboxkit.TableName;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;

/**
 * Creates and upgrades the tables of outbox-patterns with the Flyway migrations shipped in this
 * jar. Each pattern keeps its own history table ({@code outboxkit_<pattern>_schema_history}), apart
 * from the application's own Flyway history.
 *
 * <pre>{@code
 * PatternsSchema.migrateReconciler(dataSource, "public");   // reconcile_run, reconcile_drift
 * PatternsSchema.migrateSagas(dataSource, "public");        // saga, saga_step
 * }</pre>
 */
public final class PatternsSchema {
  private PatternsSchema() {}

  /** Creates or upgrades {@code reconcile_run} and {@code reconcile_drift} in {@code schema}. */
  public static void migrateReconciler(DataSource dataSource, String schema) {
    migrate(dataSource, schema, "reconcile");
  }

  /** Creates or upgrades {@code saga} and {@code saga_step} in {@code schema}. */
  public static void migrateSagas(DataSource dataSource, String schema) {
    migrate(dataSource, schema, "saga");
  }

  private static void migrate(DataSource dataSource, String schema, String pattern) {
    // TableName checks that the schema is a plain identifier, safe to place into the SQL.
    TableName history = TableName.of(schema, "outboxkit_" + pattern + "_schema_history");
    try {
      Flyway.configure(PatternsSchema.class.getClassLoader())
          .dataSource(dataSource)
          .schemas(schema)
          .createSchemas(true)
          .baselineOnMigrate(true)
          .baselineVersion("0")
          .table(history.name())
          .locations("classpath:io/outboxkit/migration/" + pattern)
          .placeholders(Map.of("schema", schema))
          .loggers("slf4j")
          .load()
          .migrate();
    } catch (FlywayException e) {
      throw new OutboxException(
          "migrating the " + pattern + " tables in schema " + schema + " failed: " + e.getMessage(),
          e);
    }
  }
}
