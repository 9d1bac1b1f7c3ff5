package io.outboxkit.bench;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.PublishAck;
import io.nats.client.impl.Headers;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.UuidV7;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The raw limits, with no relay: PostgreSQL inserting the same outbox rows into an outbox table
 * without a publication, and JetStream taking async publishes from Java as the relay makes them.
 */
final class RawLimits {
  private static final Logger log = LoggerFactory.getLogger("bench");

  private final BenchConfig cfg;
  private final PgAdmin admin;
  private final Cleanup cleanup;
  private final Results results;
  private final int run;

  RawLimits(BenchConfig cfg, PgAdmin admin, Cleanup cleanup, Results results, int run) {
    this.cfg = cfg;
    this.admin = admin;
    this.cleanup = cleanup;
    this.results = results;
    this.run = run;
  }

  void runAll(String database, Names names) {
    String schema = names.schema("raw", run);
    try (Cleanup.Registration drop =
        cleanup.register("drop schema " + schema, () -> admin.dropSchema(database, schema))) {
      log.info("run {} raw: PostgreSQL alone", run);
      admin.exec(database, "CREATE SCHEMA " + schema);
      var ds = admin.dataSource(database);
      OutboxSchema.migrateOutbox(ds, TableName.of(schema, "outbox"));
      OutboxTable table =
          new OutboxTable(OutboxTable.Flavor.OUTBOXKIT, schema + ".outbox", cfg.payloadBytes());
      Load.Written single =
          Load.singleRows(ds, table, "raw", cfg.singleWriters(), cfg.singleDuration());
      results.put(run, "raw.pg_single", Side.RAW, single.rate());
      Load.Written batch =
          Load.batched(ds, table, "rawbatch", cfg.events(), cfg.rowsPerTx(), cfg.batchWriters());
      results.put(run, "raw.pg_batch", Side.RAW, batch.rate());
    } catch (RuntimeException e) {
      log.error("run {} raw: PostgreSQL failed: {}", run, e.getMessage());
      results.error(run, "raw.pg_single", Side.RAW, e.getMessage());
      results.error(run, "raw.pg_batch", Side.RAW, e.getMessage());
    }
    if (cfg.runs(BenchConfig.Mode.MESSAGE)) {
      messages(database, names);
    }
    try {
      log.info("run {} raw: JetStream alone", run);
      results.put(run, "raw.js", Side.RAW, jetStream(names));
    } catch (RuntimeException e) {
      log.error("run {} raw: JetStream failed: {}", run, e.getMessage());
      results.error(run, "raw.js", Side.RAW, e.getMessage());
    }
  }

  /**
   * The same loads as WAL messages: {@code pg_logical_emit_message(true, prefix, envelope)} instead
   * of INSERTs, no table at all. No slot reads them (none decodes this prefix).
   */
  private void messages(String database, Names names) {
    try {
      log.info("run {} raw: PostgreSQL alone, WAL messages", run);
      var ds = admin.dataSource(database);
      WalMessages messages =
          new WalMessages(names.slot("rawm", run), cfg.payloadBytes(), cfg.eventsPerMessage());
      Load.Written single =
          Load.singleRows(ds, messages, "raw", cfg.singleWriters(), cfg.singleDuration());
      results.put(run, "raw.pg_single_msg", Side.RAW, single.rate());
      Load.Written batch =
          Load.batched(ds, messages, "rawbatch", cfg.events(), cfg.rowsPerTx(), cfg.batchWriters());
      results.put(run, "raw.pg_batch_msg", Side.RAW, batch.rate());
    } catch (RuntimeException e) {
      log.error("run {} raw: PostgreSQL with WAL messages failed: {}", run, e.getMessage());
      results.error(run, "raw.pg_single_msg", Side.RAW, e.getMessage());
      results.error(run, "raw.pg_batch_msg", Side.RAW, e.getMessage());
    }
  }

  /** Async publishes with a bounded in-flight window; first publish → last ack, msg/s. */
  private double jetStream(Names names) {
    String stream = names.stream("raw", run);
    String subject = names.subjectPrefix("raw", run) + ".raw.Created";
    Connection nc = Streams.connect(cfg.natsUrl(), "raw");
    try (Cleanup.Registration drop =
        cleanup.register(
            "delete stream " + stream, () -> Streams.delete(nc.jetStreamManagement(), stream))) {
      JetStreamManagement jsm = nc.jetStreamManagement();
      Streams.create(jsm, stream, names.subjectPrefix("raw", run) + ".>");
      JetStream js = nc.jetStream();
      byte[] body = new byte[cfg.payloadBytes()];
      Arrays.fill(body, (byte) 'x');
      int n = cfg.rawJsMessages();
      ArrayDeque<CompletableFuture<PublishAck>> window = new ArrayDeque<>();
      long start = System.nanoTime();
      for (int i = 0; i < n; i++) {
        if (window.size() >= cfg.rawJsWindow()) {
          ack(window.poll());
        }
        Headers h = new Headers();
        h.put(OutboxHeaders.MSG_ID, UuidV7.next().toString());
        window.add(js.publishAsync(subject, h, body));
      }
      while (!window.isEmpty()) {
        ack(window.poll());
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      long stored = Streams.info(jsm, stream).getStreamState().getMsgCount();
      if (stored != n) {
        throw new BenchException("raw JetStream run stored " + stored + " of " + n + " messages");
      }
      return n / seconds;
    } catch (IOException e) {
      throw new BenchException("JetStream: " + e.getMessage(), e);
    } finally {
      try {
        nc.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void ack(CompletableFuture<PublishAck> f) {
    try {
      f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new BenchException("raw JetStream publish failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted", e);
    }
  }
}
