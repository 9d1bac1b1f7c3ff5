package io.outboxkit.patterns.rebuild;

import io.nats.client.Connection;
import io.outboxkit.TableName;
import io.outboxkit.consumer.EventHandler;
import java.time.Duration;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/** The checked settings of a {@link Rebuilder}. */
record RebuildSettings(
    String model,
    List<String> tables,
    String schema,
    EventHandler handler,
    String liveConsumer,
    Runnable pauseLive,
    Runnable resumeLive,
    Jdbi jdbi,
    Connection connection,
    String stream,
    String filterSubject,
    TableName inboxTable,
    String deadLetterSubject,
    long handoverLag,
    Duration handoverTimeout,
    Duration pollInterval) {

  /** Where the model is rebuilt. */
  String shadowSchema() {
    return "outboxkit_rebuild_" + model;
  }

  /** Where the replaced tables go until they are dropped. */
  String retiredSchema() {
    return "outboxkit_retired_" + model;
  }

  /** The prefix of the rebuild consumers' names. */
  String consumerPrefix() {
    return liveConsumer + "-rebuild-";
  }
}
