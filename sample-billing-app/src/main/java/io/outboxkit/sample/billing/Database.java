package io.outboxkit.sample.billing;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import jakarta.inject.Singleton;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;

/**
 * The service's own database, migrated at start-up: the read models from {@code db/billing}, then
 * the consumers' inbox table and its own outbox table from outbox-core.
 */
@Factory
final class Database {

  @Context
  @Singleton
  Jdbi jdbi(DataSource dataSource) {
    // The service's own tables, then outbox-core's (it migrates beside existing tables).
    Flyway.configure(Database.class.getClassLoader())
        .dataSource(dataSource)
        .locations("classpath:db/billing")
        .loggers("slf4j")
        .load()
        .migrate();
    OutboxSchema.migrateInbox(dataSource, TableName.DEFAULT_INBOX);
    // Its own outbox, for the onboarding saga's answers (relayed by a relay on this database).
    OutboxSchema.migrateOutbox(dataSource, TableName.DEFAULT_OUTBOX);
    return Jdbi.create(dataSource);
  }

  @Singleton
  Outbox outbox() {
    return Outbox.builder().table(TableName.DEFAULT_OUTBOX).build();
  }
}
