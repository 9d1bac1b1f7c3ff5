package io.outboxkit.sample.meter;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import jakarta.inject.Singleton;
import java.time.Clock;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;

/**
 * The service's database: migrated at start-up (the outbox table from outbox-core, then its own
 * tables from {@code db/meter}), before the HTTP server takes requests.
 */
@Factory
final class Database {

  @Context
  @Singleton
  Jdbi jdbi(DataSource dataSource) {
    // The outbox first: outbox-core's migration refuses a schema that holds other tables but no
    // outbox history yet. Ours then baselines at 0 beside it, so that V1 still runs.
    OutboxSchema.migrateOutbox(dataSource, TableName.DEFAULT_OUTBOX);
    Flyway.configure(Database.class.getClassLoader())
        .dataSource(dataSource)
        .locations("classpath:db/meter")
        .baselineOnMigrate(true)
        .baselineVersion("0")
        .loggers("slf4j")
        .load()
        .migrate();
    return Jdbi.create(dataSource);
  }

  @Singleton
  Outbox outbox() {
    return Outbox.builder().table(TableName.DEFAULT_OUTBOX).build();
  }

  @Singleton
  Clock clock() {
    return Clock.systemUTC();
  }
}
