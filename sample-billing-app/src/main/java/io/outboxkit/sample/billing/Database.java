package io.outboxkit.sample.billing;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import jakarta.inject.Singleton;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;

/**
 * The service's own database, migrated at start-up: the consumers' inbox table from outbox-core,
 * then the read models from {@code db/billing}.
 */
@Factory
final class Database {

  @Context
  @Singleton
  Jdbi jdbi(DataSource dataSource) {
    // The inbox first: outbox-core's migration refuses a schema that holds other tables but no
    // inbox history yet. Ours then baselines at 0 beside it, so that V1 still runs.
    OutboxSchema.migrateInbox(dataSource, TableName.DEFAULT_INBOX);
    Flyway.configure(Database.class.getClassLoader())
        .dataSource(dataSource)
        .locations("classpath:db/billing")
        .baselineOnMigrate(true)
        .baselineVersion("0")
        .loggers("slf4j")
        .load()
        .migrate();
    return Jdbi.create(dataSource);
  }
}
