package io.outboxkit.sample.meter;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.patterns.PatternsSchema;
import jakarta.inject.Singleton;
import java.time.Clock;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;

/**
 * The service's database: migrated at start-up (its own tables from {@code db/meter}, then the
 * outbox table from outbox-core, the saga tables from outbox-patterns and the inbox), before the
 * HTTP server takes requests.
 */
@Factory
final class Database {

  @Context
  @Singleton
  Jdbi jdbi(DataSource dataSource) {
    // The service's own tables, then outbox-core's (it migrates beside existing tables).
    Flyway.configure(Database.class.getClassLoader())
        .dataSource(dataSource)
        .locations("classpath:db/meter")
        .loggers("slf4j")
        .load()
        .migrate();
    OutboxSchema.migrateOutbox(dataSource, TableName.DEFAULT_OUTBOX);
    // Onboarding: the saga's tables, and the inbox of the consumer of billing's answers.
    PatternsSchema.migrateSagas(dataSource, "public");
    OutboxSchema.migrateInbox(dataSource, TableName.DEFAULT_INBOX);
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
