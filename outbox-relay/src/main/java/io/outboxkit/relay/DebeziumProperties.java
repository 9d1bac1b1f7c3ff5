package io.outboxkit.relay;

import io.outboxkit.TableName;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;

/** The one place where the relay's settings become Debezium engine properties. */
final class DebeziumProperties {
  /** Debezium's own attempts to start the replication stream ({@code slot.max.retries}). */
  static final int SLOT_START_RETRIES = 3;

  /** Between those attempts ({@code slot.retry.delay.ms}; Debezium's default is 10 s). */
  static final long SLOT_START_RETRY_DELAY_MS = 1000;

  private DebeziumProperties() {}

  /**
   * @param passThrough {@code outboxkit.relay.debezium.*} settings, applied last (expert use)
   */
  static Properties of(RelaySettings s, Map<String, String> passThrough) {
    return of(s, passThrough, null);
  }

  /**
   * @param epoch the leader epoch of this run, which every offset write checks; null only where
   *     nothing is stored under a lease
   */
  static Properties of(RelaySettings s, Map<String, String> passThrough, Long epoch) {
    Properties p = new Properties();
    RelayConfig.Engine engine = s.engine();
    String tables = s.tables().stream().map(TableName::qualified).collect(Collectors.joining(","));

    p.setProperty("name", "outboxkit-" + s.slot());
    p.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
    p.setProperty("topic.prefix", "outboxkit");

    // Offsets: in PostgreSQL, committed after every batch.
    p.setProperty("offset.storage", PostgresOffsetStore.class.getName());
    s.jdbcProperties()
        .forEach((k, v) -> p.setProperty(PostgresOffsetStore.JDBC + k, String.valueOf(v)));
    p.setProperty(PostgresOffsetStore.TABLE, s.offsetsTable().qualified());
    p.setProperty(PostgresOffsetStore.SLOT, s.slot());
    // The epoch itself is set per run, once this relay leads (RelaySupervisor).
    p.setProperty(PostgresOffsetStore.LEADERS, StateTables.leaders(s));
    p.setProperty(
        PostgresOffsetStore.LEASE_MS, Long.toString(s.standby().leaseTimeout().toMillis()));
    p.setProperty("offset.flush.interval.ms", "0");
    p.setProperty("offset.flush.timeout.ms", "10000");

    // Source.
    p.setProperty("database.hostname", s.dbHost());
    p.setProperty("database.port", Integer.toString(s.dbPort()));
    p.setProperty("database.user", s.dbUser());
    p.setProperty("database.password", s.dbPassword());
    p.setProperty("database.dbname", s.dbName());
    p.setProperty("database.sslmode", s.database().sslMode());
    if (s.database().sslRootCert() != null) {
      p.setProperty("database.sslrootcert", s.database().sslRootCert());
    }
    // Passed to the JDBC driver of Debezium's connections: a dead peer is noticed (see Security).
    p.setProperty("database.tcpKeepAlive", "true");
    // ... and on the server's side: PostgreSQL ends the walsender of a dead relay host in ~25 s.
    p.setProperty("database.options", RelaySettings.SERVER_KEEPALIVES);
    p.setProperty(
        "database.connectTimeout",
        Long.toString(Math.max(1, s.database().connectTimeout().toSeconds())));
    p.setProperty("plugin.name", "pgoutput");
    p.setProperty("slot.name", s.slot());
    p.setProperty("publication.name", s.publication());
    p.setProperty("publication.autocreate.mode", "disabled");
    p.setProperty("table.include.list", tables);
    p.setProperty(
        "column.include.list",
        s.tables().stream()
            .flatMap(t -> s.columns().published().stream().map(c -> t.qualified() + "." + c))
            .collect(Collectors.joining(",")));
    p.setProperty("snapshot.mode", "no_data");
    p.setProperty("binary.handling.mode", "bytes");
    p.setProperty("tombstones.on.delete", "false");
    p.setProperty("skipped.operations", "u,d,t");
    p.setProperty("slot.drop.on.stop", "false");
    p.setProperty("include.schema.changes", "false");

    // Batching and latency.
    p.setProperty("max.batch.size", Integer.toString(engine.maxBatchSize()));
    p.setProperty("max.queue.size", Integer.toString(engine.maxQueueSize()));
    p.setProperty("max.queue.size.in.bytes", Long.toString(engine.maxQueueBytes()));
    p.setProperty("poll.interval.ms", Long.toString(engine.pollInterval().toMillis()));
    p.setProperty("queue.provider.type", SpinFreeQueue.TYPE);

    // No Debezium heartbeats: the relay writes its own checkpoints into the WAL (Checkpoints), the
    // only resume points it stores; they also keep the slot advancing while the outbox is idle.
    p.setProperty("heartbeat.interval.ms", "0");
    // Logical messages: the relay's checkpoints, and outbox events written as WAL messages.
    p.setProperty(
        "message.prefix.include.list", RowConverter.CHECKPOINT_PREFIX + "," + s.messagePrefix());

    // The relay supervises the engine itself (restart with backoff).
    p.setProperty("errors.max.retries", "0");
    // Debezium retries starting the replication stream on its own, by default 6 times 10 s apart:
    // a walsender that died as the stream started (a PostgreSQL restart, a terminated backend)
    // stalled the relay for a minute before its own restart could begin. The relay frees the slot
    // before each start (Leadership.evictPreviousWalsender), so a short wait suffices; the engine's
    // restart backoff does the rest.
    p.setProperty("slot.max.retries", Integer.toString(SLOT_START_RETRIES));
    p.setProperty("slot.retry.delay.ms", Long.toString(SLOT_START_RETRY_DELAY_MS));

    passThrough.forEach(p::setProperty);
    if (epoch != null) {
      p.setProperty(PostgresOffsetStore.EPOCH, Long.toString(epoch));
    }
    return p;
  }
}
