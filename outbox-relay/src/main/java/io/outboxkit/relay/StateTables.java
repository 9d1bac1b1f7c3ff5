package io.outboxkit.relay;

import io.outboxkit.TableName;
import java.sql.SQLException;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The relay's state tables (schema of {@code offsets-table}): offsets, slot records, and the CLI's
 * replay and redrive records, created and upgraded by the migrations in {@code
 * io/outboxkit/relay/migration}.
 */
final class StateTables {
  private StateTables() {}

  /**
   * Applies the migrations that are missing.
   *
   * @throws org.flywaydb.core.api.FlywayException when they do not apply
   */
  static void migrate(RelaySettings settings) {
    TableName offsets = settings.offsetsTable();
    PGSimpleDataSource ds = new PGSimpleDataSource();
    settings
        .jdbcProperties()
        .forEach(
            (k, v) -> {
              try {
                ds.setProperty((String) k, String.valueOf(v));
              } catch (SQLException e) {
                throw new IllegalStateException("pgjdbc refused its own property " + k, e);
              }
            });
    Flyway.configure(StateTables.class.getClassLoader())
        .dataSource(ds)
        .schemas(offsets.schema())
        .createSchemas(true)
        // The schema may hold other tables (the outbox itself): that is no reason to stop.
        .baselineOnMigrate(true)
        .baselineVersion("0")
        .table(offsets.name() + "_schema_history")
        .locations("classpath:io/outboxkit/relay/migration")
        .placeholders(Map.of("schema", offsets.schema(), "offsets", offsets.name()))
        .load()
        .migrate();
  }

  /** The table of the CLI's replay runs. */
  static String replays(RelaySettings settings) {
    return settings.offsetsTable().qualified() + "_replays";
  }

  /** The table of the CLI's redrives. */
  static String redrives(RelaySettings settings) {
    return settings.offsetsTable().qualified() + "_redrives";
  }

  /** The table of each slot's leader epoch (standby fencing). */
  static String leaders(RelaySettings settings) {
    return settings.offsetsTable().qualified() + "_leaders";
  }

  /** The table of the slots the relay has used. */
  static String slots(RelaySettings settings) {
    return settings.offsetsTable().qualified() + "_slots";
  }
}
