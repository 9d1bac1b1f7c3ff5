package io.outboxkit.patterns.rebuild;

import io.nats.client.Connection;
import io.outboxkit.NatsSubjects;
import io.outboxkit.OutboxException;
import io.outboxkit.TableName;
import io.outboxkit.consumer.EventHandler;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;

/**
 * Rebuilds a read model from the JetStream stream while the live one serves, then replaces it
 * atomically.
 *
 * <p>{@link #start()} creates empty copies of the model's tables in a shadow schema ({@code
 * outboxkit_rebuild_<model>}) and applies the stream to them, from its start (or from a time), with
 * the model's own {@link EventHandler} run by an {@link io.outboxkit.consumer.OutboxConsumer} of
 * its own (durable and inbox key {@code <liveConsumer>-rebuild-<n>}, exactly once like the live
 * one); the handler's unqualified table names reach the shadow tables through the transaction's
 * {@code search_path}. When the rebuild is within {@code handoverLag} events of the end of the
 * stream, the live consumer is paused, the rebuild applies what the live one had applied, and one
 * transaction locks the tables, moves the live tables out and the rebuilt ones in, and gives the
 * rebuild's inbox rows to the live consumer, which is resumed and carries on where the rebuild
 * stopped. Reads (one statement, or a transaction that locks the tables first) see the old model or
 * the new one, never a half-built one. The old tables are then dropped.
 *
 * <pre>{@code
 * Rebuilder bills =
 *     Rebuilder.builder()
 *         .model("bills")                                  // names the shadow schema
 *         .tables("bill_usage", "billing_meter")           // the model's tables, in schema public
 *         .handler(billingProjection)                      // the live consumer's handler
 *         .liveConsumer("billing")                         // its durable name and inbox key
 *         .pauseLive(() -> consumers.pause("billing"))     // returns once no transaction is open
 *         .resumeLive(() -> consumers.resume("billing"))
 *         .jdbi(jdbi).connection(nats).stream("OUTBOX").filterSubject("outbox.meter.>")
 *         .build();
 * bills.start();                     // or start(Instant.parse("2026-01-01T00:00:00Z"))
 * bills.progress();                  // phase, events applied, stream position and end
 * }</pre>
 *
 * <p>Limits: the handler must write only the model's tables (unqualified names) and its effects
 * must depend only on the events; the live consumer runs in this process (pause/resume must stop
 * every instance); the live model is not updated for the handover (about 1 s, a few on a busy
 * machine: most of it is stopping the rebuild's consumer). A rebuild does not survive a restart:
 * the next {@link #start()} drops what a previous one left.
 *
 * <p>Thread-safe; one rebuild of a model at a time.
 */
public final class Rebuilder implements AutoCloseable {
  private final RebuildSettings settings;
  private RebuildRun run;
  private Thread thread;

  private Rebuilder(RebuildSettings settings) {
    this.settings = settings;
  }

  /** A builder; every setting without a default is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The model's name. */
  public String model() {
    return settings.model();
  }

  /** Starts a rebuild from the start of the stream, in a thread of its own. */
  public RebuildProgress start() {
    return start(null);
  }

  /**
   * Starts a rebuild in a thread of its own; events committed before {@code from} are read but not
   * applied (the rebuilt model holds what happened since {@code from}); null: from the start.
   *
   * @throws OutboxException when a rebuild of this model is already running
   */
  public synchronized RebuildProgress start(Instant from) {
    if (run != null && !run.progress().phase().ended()) {
      throw new OutboxException(
          "a rebuild of '"
              + settings.model()
              + "' is already running ("
              + run.progress().phase()
              + "): wait for it to end, see progress()");
    }
    run = new RebuildRun(settings, from);
    thread = new Thread(run, "outboxkit-rebuild-" + settings.model());
    thread.setDaemon(true);
    thread.start();
    return run.progress();
  }

  /** The running or latest rebuild's progress ({@code IDLE} when none ran in this process). */
  public synchronized RebuildProgress progress() {
    if (run == null) {
      return new RebuildProgress(
          settings.model(),
          RebuildProgress.Phase.IDLE,
          null,
          null,
          0,
          0,
          0,
          0,
          null,
          null,
          0,
          0,
          0,
          null);
    }
    return run.progress();
  }

  /**
   * Stops a running rebuild: it fails, its shadow tables and consumer are removed, the live model
   * stays as it was (a swap already under way completes first).
   */
  @Override
  public void close() {
    RebuildRun r;
    Thread t;
    synchronized (this) {
      r = run;
      t = thread;
    }
    if (r != null) {
      r.cancel();
      try {
        t.join(Duration.ofSeconds(60).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Settings of a {@link Rebuilder}, checked by {@link #build()}. Not thread-safe. */
  public static final class Builder {
    private static final Pattern MODEL = Pattern.compile("[a-z][a-z0-9_]{0,39}");
    private String model;
    private final List<String> tables = new ArrayList<>();
    private String schema = "public";
    private EventHandler handler;
    private String liveConsumer;
    private Runnable pauseLive;
    private Runnable resumeLive;
    private Jdbi jdbi;
    private Connection connection;
    private String stream;
    private String filterSubject;
    private TableName inboxTable = TableName.DEFAULT_INBOX;
    private String deadLetterSubject;
    private long handoverLag = 1000;
    private Duration handoverTimeout = Duration.ofSeconds(60);
    private Duration pollInterval = Duration.ofMillis(200);

    private Builder() {}

    /** Required: the model's name, {@code [a-z][a-z0-9_]*} (at most 40): names the schemas. */
    public Builder model(String model) {
      this.model = model;
      return this;
    }

    /**
     * Required: the model's tables in {@code schema}, rebuilt and swapped together. Readers that
     * read several of them in one transaction lock them in this order.
     */
    public Builder tables(String... tables) {
      this.tables.addAll(List.of(tables));
      return this;
    }

    /** The schema of the model's tables; default {@code public}. */
    public Builder schema(String schema) {
      this.schema = schema;
      return this;
    }

    /** Required: the handler that feeds the live model; the rebuild applies every event with it. */
    public Builder handler(EventHandler handler) {
      this.handler = handler;
      return this;
    }

    /** Required: the live model's durable consumer name, also its inbox key. */
    public Builder liveConsumer(String liveConsumer) {
      this.liveConsumer = liveConsumer;
      return this;
    }

    /**
     * Required: stops the live consumer and returns once it has no transaction open (e.g. {@code
     * OutboxConsumer.close()}); called for the handover.
     */
    public Builder pauseLive(Runnable pauseLive) {
      this.pauseLive = pauseLive;
      return this;
    }

    /** Required: starts the live consumer again (a new {@code OutboxConsumer}, same name). */
    public Builder resumeLive(Runnable resumeLive) {
      this.resumeLive = resumeLive;
      return this;
    }

    /** Required: the model's database, which also holds the inbox table. */
    public Builder jdbi(Jdbi jdbi) {
      this.jdbi = jdbi;
      return this;
    }

    /** Required: a NATS connection (the caller's; it stays open). */
    public Builder connection(Connection connection) {
      this.connection = connection;
      return this;
    }

    /** Required: the stream the live consumer reads. */
    public Builder stream(String stream) {
      this.stream = stream;
      return this;
    }

    /** The live consumer's filter subject; default all subjects. */
    public Builder filterSubject(String filterSubject) {
      this.filterSubject = filterSubject;
      return this;
    }

    /** The inbox table the live consumer uses; default {@code public.outbox_inbox}. */
    public Builder inboxTable(TableName inboxTable) {
      this.inboxTable = inboxTable;
      return this;
    }

    /**
     * Where the rebuild's consumer dead-letters an event its handler keeps failing on (the rebuild
     * then fails at the swap if the live model had applied it); default {@code outbox-dlq.<live
     * consumer>-rebuild}.
     */
    public Builder deadLetterSubject(String deadLetterSubject) {
      this.deadLetterSubject = deadLetterSubject;
      return this;
    }

    /** The live consumer is paused once the rebuild has at most this many events left; 1000. */
    public Builder handoverLag(long handoverLag) {
      this.handoverLag = handoverLag;
      return this;
    }

    /** The longest the live consumer stays paused before the rebuild gives up; 60 s. */
    public Builder handoverTimeout(Duration handoverTimeout) {
      this.handoverTimeout = handoverTimeout;
      return this;
    }

    /** How often the rebuild looks at its consumer's position; default 200 ms. */
    public Builder pollInterval(Duration pollInterval) {
      this.pollInterval = pollInterval;
      return this;
    }

    /** Checks every setting and builds; throws {@link OutboxException} naming what to fix. */
    public Rebuilder build() {
      List<String> problems = new ArrayList<>();
      if (model == null || !MODEL.matcher(model).matches()) {
        problems.add("model is '" + model + "': give [a-z][a-z0-9_]*, at most 40 characters");
      }
      if (tables.isEmpty()) {
        problems.add("tables are missing: name the model's tables");
      }
      for (String t : tables) {
        try {
          TableName.of(schema, t);
        } catch (OutboxException | NullPointerException e) {
          problems.add("table '" + t + "' in schema '" + schema + "' is not a plain identifier");
        }
      }
      if (handler == null) {
        problems.add("handler is missing: give the live model's EventHandler");
      }
      if (liveConsumer == null || liveConsumer.isBlank() || liveConsumer.length() > 100) {
        problems.add("liveConsumer is '" + liveConsumer + "': give the live durable's name");
      }
      if (pauseLive == null || resumeLive == null) {
        problems.add(
            "pauseLive and resumeLive are required: they stop and start the live consumer");
      }
      if (jdbi == null) {
        problems.add("jdbi is missing: give the model's Jdbi");
      }
      if (connection == null) {
        problems.add("connection is missing: give a NATS connection");
      }
      if (stream == null || !NatsSubjects.isValidName(stream)) {
        problems.add("stream is '" + stream + "': give the live consumer's stream");
      }
      if (filterSubject != null && !NatsSubjects.isValidSubject(filterSubject, true)) {
        problems.add("filterSubject '" + filterSubject + "' is not a valid subject");
      }
      if (inboxTable == null) {
        problems.add("inboxTable is null: leave it unset for public.outbox_inbox");
      }
      if (handoverLag < 0) {
        problems.add("handoverLag is " + handoverLag + ": give 0 or more");
      }
      if (handoverTimeout == null || handoverTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
        problems.add("handoverTimeout is " + handoverTimeout + ": give at least 1 s");
      }
      if (pollInterval == null || pollInterval.toMillis() < 1) {
        problems.add("pollInterval is " + pollInterval + ": give at least 1 ms");
      }
      if (!problems.isEmpty()) {
        throw new OutboxException(
            "rebuilder '" + model + "' is misconfigured: " + String.join("; ", problems));
      }
      return new Rebuilder(
          new RebuildSettings(
              model,
              List.copyOf(tables),
              schema,
              handler,
              liveConsumer,
              pauseLive,
              resumeLive,
              jdbi,
              connection,
              stream,
              filterSubject,
              inboxTable,
              deadLetterSubject == null
                  ? "outbox-dlq." + liveConsumer + "-rebuild"
                  : deadLetterSubject,
              handoverLag,
              handoverTimeout,
              pollInterval));
    }
  }
}
