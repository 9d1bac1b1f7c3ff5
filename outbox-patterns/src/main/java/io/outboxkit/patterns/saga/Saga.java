package io.outboxkit.patterns.saga;

import io.outboxkit.Outbox;
import io.outboxkit.OutboxEvent;
import io.outboxkit.OutboxException;
import io.outboxkit.TableName;
import io.outboxkit.consumer.EventHandler;
import io.outboxkit.consumer.InboundEvent;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A saga: a long-lived process across services as a sequence of local transactions, each one
 * committing the saga's new state with the events it sends (through the {@link Outbox}). The saga
 * begins in a local transaction of yours ({@link #begin}), which writes its first command; the
 * other services answer with events, which an {@link io.outboxkit.consumer.OutboxConsumer} hands to
 * {@link #replies()}: each reply runs the {@link SagaStep} defined for the saga's state and the
 * reply's type, in the consumer's transaction (with its inbox row). A state may have a deadline,
 * stored in the saga's row in the same transaction: when it passes without a reply, a scheduler
 * ({@link #start()}) runs the state's {@link Builder#onDeadline deadline step}, typically a
 * compensation. The deadline survives restarts: it is a row, polled with {@code FOR UPDATE SKIP
 * LOCKED}, fired in a transaction of its own.
 *
 * <p>Every step is idempotent: steps of one saga are serialized by a lock on its row; a message
 * delivered twice is dropped by the consumer's inbox; a reply type is taken once per saga (a second
 * message of the same type, e.g. republished with a new id, is dropped and recorded nowhere); a
 * reply that finds the saga in a state without a step for it (after the timeout fired, or after the
 * other answer) runs the type's {@link Builder#onLate late rule}, e.g. a compensating event, and is
 * recorded as {@link SagaState.Outcome#LATE}.
 *
 * <pre>{@code
 * PatternsSchema.migrateSagas(dataSource, "public");            // saga, saga_step (once, at deploy)
 *
 * Saga onboarding = Saga.builder()
 *     .type("meter-onboarding").jdbi(jdbi).outbox(outbox)
 *     .initialState("PENDING").timeout(Duration.ofSeconds(30))
 *     .on("PENDING", "AccountOpened", activate)                 // a SagaStep: ctx.moveTo("ACTIVE")
 *     .on("PENDING", "MeterRegistrationRejected", reject)
 *     .onDeadline("PENDING", timeOut)                           // compensate: ctx.moveTo("TIMED_OUT")
 *     .onLate("AccountOpened", ctx -> ctx.emit(cancellation))   // accepted after all: undo it
 *     .build()
 *     .start();                                                 // the deadline scheduler
 *
 * jdbi.useTransaction(h -> {                                     // step 1, in your transaction
 *   h.execute("INSERT INTO meter (meter_id, status) VALUES (?, 'PENDING')", "m-42");
 *   onboarding.begin(h, "m-42", request, OutboxEvent.of("onboarding", "m-42",
 *       "MeterRegistrationRequested", request));
 * });
 * OutboxConsumer.builder().name("meter-onboarding").handler(onboarding.replies())...;  // replies
 * onboarding.find("m-42");                                     // state, deadline, steps
 * }</pre>
 *
 * <p>Thread-safe. The {@code Jdbi} and the consumer belong to the caller; {@link #close()} stops
 * the scheduler.
 */
public final class Saga implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Saga.class);

  private final String type;
  private final Jdbi jdbi;
  private final Outbox outbox;
  private final String initialState;
  private final Duration timeout;
  private final Map<String, SagaStep> replySteps;
  private final Map<String, SagaStep> deadlineSteps;
  private final Map<String, SagaStep> lateSteps;
  private final Function<InboundEvent, String> correlation;
  private final Duration pollInterval;
  private final int batchSize;
  private final SagaStore store;
  private ScheduledExecutorService scheduler;

  private Saga(Builder b) {
    this.type = b.type;
    this.jdbi = b.jdbi;
    this.outbox = b.outbox;
    this.initialState = b.initialState;
    this.timeout = b.timeout;
    this.replySteps = Map.copyOf(b.replySteps);
    this.deadlineSteps = Map.copyOf(b.deadlineSteps);
    this.lateSteps = Map.copyOf(b.lateSteps);
    this.correlation = b.correlation;
    this.pollInterval = b.pollInterval;
    this.batchSize = b.batchSize;
    this.store = new SagaStore(b.schema, b.type);
  }

  /**
   * A builder; {@code type}, {@code jdbi}, {@code outbox} and {@code initialState} are required.
   */
  public static Builder builder() {
    return new Builder();
  }

  /** The saga type given to the builder. */
  public String type() {
    return type;
  }

  /**
   * Begins saga {@code id} in the initial state (with its {@link Builder#timeout timeout} as
   * deadline), within the handle's open transaction, and writes {@code commands} to the outbox in
   * that transaction: the saga exists exactly when its first commands are sent.
   *
   * @param data the saga's data, serialized to JSON (null: {@code {}})
   * @return the saga as begun
   * @throws OutboxException when the handle is not in a transaction, or a saga of this type with
   *     this id exists already
   */
  public SagaState begin(Handle handle, String id, Object data, OutboxEvent... commands) {
    if (!handle.isInTransaction()) {
      throw new OutboxException(
          "saga '"
              + type
              + "' must begin inside a transaction, with the business change it belongs to: use"
              + " jdbi.useTransaction(h -> saga.begin(h, ...))");
    }
    requireId(id);
    if (!store.insert(handle, id, initialState, SagaStore.json(data), timeout)) {
      throw new OutboxException(
          "saga '"
              + type
              + "' with id '"
              + id
              + "' exists already: a saga begins once; look it up with find(id)");
    }
    store.insertStep(
        handle,
        id,
        1,
        SagaState.Kind.BEGIN,
        initialState,
        null,
        null,
        initialState,
        SagaState.Outcome.APPLIED);
    if (commands.length > 0) {
      outbox.writeAll(handle, List.of(commands));
    }
    return store.find(handle, id, true).orElseThrow();
  }

  /**
   * The handler to give an {@link io.outboxkit.consumer.OutboxConsumer} of the replies: each event
   * is a step of the saga its {@link Builder#correlation correlation} names (by default the event's
   * aggregate id). A reply for a saga that does not exist here is logged and skipped.
   */
  public EventHandler replies() {
    return this::reply;
  }

  private void reply(Handle h, InboundEvent event) throws Exception {
    String id = correlation.apply(event);
    String eventType = event.eventType();
    if (id == null || eventType == null) {
      log.warn("saga '{}': event {} names no saga id or type; skipped", type, event.id());
      return;
    }
    Optional<SagaStore.Row> locked = store.lock(h, id);
    if (locked.isEmpty()) {
      log.warn(
          "saga '{}': reply {} ({}) for unknown saga '{}'; skipped",
          type,
          event.id(),
          eventType,
          id);
      return;
    }
    SagaStore.Row row = locked.get();
    int seq = row.version() + 1;
    if (!store.insertStep(
        h,
        id,
        seq,
        SagaState.Kind.REPLY,
        eventType,
        event.id(),
        row.state(),
        row.state(),
        SagaState.Outcome.IGNORED)) {
      log.debug("saga '{}' {}: {} was taken before; {} dropped", type, id, eventType, event.id());
      return;
    }
    SagaStep step = replySteps.get(key(row.state(), eventType));
    SagaState.Outcome outcome = SagaState.Outcome.APPLIED;
    if (step == null) {
      step = lateSteps.get(eventType);
      outcome = step == null ? SagaState.Outcome.IGNORED : SagaState.Outcome.LATE;
    }
    run(h, row, seq, step, event, outcome);
  }

  private void run(
      Handle h,
      SagaStore.Row row,
      int seq,
      SagaStep step,
      InboundEvent event,
      SagaState.Outcome outcome)
      throws Exception {
    StepContext ctx = new StepContext(h, row, event, outbox);
    if (step != null) {
      step.apply(ctx);
    }
    store.finishStep(h, row, seq, ctx, outcome);
    if (log.isDebugEnabled()) {
      log.debug(
          "saga '{}' {}: {} {} -> {} ({})",
          type,
          row.id(),
          event == null ? "deadline of" : event.eventType(),
          row.state(),
          ctx.nextState(),
          outcome);
    }
  }

  /**
   * Runs the deadline step of every saga whose deadline has passed, each in a transaction of its
   * own, at most {@link Builder#batchSize} sagas; sagas locked by another step or instance are left
   * for the next pass. A failing step is rolled back, logged and tried again next pass.
   *
   * @return how many deadlines fired
   */
  public int fireDueDeadlines() {
    int fired = 0;
    List<String> failed = new java.util.ArrayList<>();
    while (fired + failed.size() < batchSize) {
      String done;
      String[] tried = new String[1];
      try {
        done = jdbi.inTransaction(h -> fireOne(h, failed, tried));
      } catch (Exception e) {
        String id = tried[0];
        if (id == null) {
          throw e instanceof RuntimeException r
              ? r
              : new OutboxException("saga '" + type + "': deadline pass failed: " + e, e);
        }
        log.error(
            "saga '{}' {}: the deadline step failed; retried next pass: {}",
            type,
            id,
            OutboxException.describe(e));
        failed.add(id);
        continue;
      }
      if (done == null) {
        break;
      }
      fired++;
    }
    return fired;
  }

  private String fireOne(Handle h, List<String> skip, String[] tried) throws Exception {
    Optional<SagaStore.Row> due = store.lockDue(h, skip);
    if (due.isEmpty()) {
      return null;
    }
    SagaStore.Row row = due.get();
    tried[0] = row.id();
    int seq = row.version() + 1;
    SagaStep step = deadlineSteps.get(row.state());
    store.insertStep(
        h,
        row.id(),
        seq,
        SagaState.Kind.DEADLINE,
        row.state(),
        null,
        row.state(),
        row.state(),
        SagaState.Outcome.IGNORED);
    StepContext ctx = new StepContext(h, row, null, outbox);
    if (step != null) {
      step.apply(ctx);
    }
    if (!ctx.moved()) {
      ctx.clearDeadline(); // a deadline fires once
    }
    store.finishStep(
        h, row, seq, ctx, step == null ? SagaState.Outcome.IGNORED : SagaState.Outcome.APPLIED);
    log.debug(
        "saga '{}' {}: deadline of {} fired -> {}", type, row.id(), row.state(), ctx.nextState());
    return row.id();
  }

  /** Saga {@code id} with its steps; empty when there is none. */
  public Optional<SagaState> find(String id) {
    return jdbi.withHandle(h -> store.find(h, id, true));
  }

  /** Saga {@code id} with its steps, read on {@code handle}; empty when there is none. */
  public Optional<SagaState> find(Handle handle, String id) {
    return store.find(handle, id, true);
  }

  /** How many sagas of this type are in each state. */
  public Map<String, Long> countByState() {
    return jdbi.withHandle(store::countByState);
  }

  /** How many replies came late ({@link SagaState.Outcome#LATE}), per reply type. */
  public Map<String, Long> lateReplies() {
    return jdbi.withHandle(store::lateReplies);
  }

  /**
   * Fires due deadlines every {@link Builder#pollInterval poll interval} on a daemon thread of its
   * own, until {@link #close()}. Several instances (threads or processes) may run on one database:
   * each due saga is fired by one of them.
   *
   * @return this
   */
  public Saga start() {
    synchronized (this) {
      if (scheduler != null) {
        throw new OutboxException("saga '" + type + "' was started already");
      }
      scheduler =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "outboxkit-saga-" + type);
                t.setDaemon(true);
                return t;
              });
      scheduler.scheduleWithFixedDelay(
          this::scheduledPass, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
    }
    log.info("saga '{}': deadline scheduler started (every {})", type, pollInterval);
    return this;
  }

  private void scheduledPass() {
    try {
      int fired;
      do {
        fired = fireDueDeadlines();
      } while (fired >= batchSize);
    } catch (RuntimeException e) {
      log.warn("saga '{}': deadline pass failed: {}", type, OutboxException.describe(e));
    }
  }

  /** Stops the deadline scheduler; a pass in progress finishes its transaction first. */
  @Override
  public void close() {
    ScheduledExecutorService s;
    synchronized (this) {
      s = scheduler;
    }
    if (s != null) {
      s.shutdown();
      try {
        if (!s.awaitTermination(30, TimeUnit.SECONDS)) {
          s.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static String key(String state, String eventType) {
    return state + "\u0000" + eventType;
  }

  private static void requireId(String id) {
    if (id == null || id.isEmpty() || id.length() > 255) {
      throw new OutboxException("saga id is '" + id + "': give 1 to 255 characters");
    }
  }

  /** Settings and steps of a {@link Saga}, checked by {@link #build()}. Not thread-safe. */
  public static final class Builder {
    private String type;
    private Jdbi jdbi;
    private Outbox outbox;
    private String schema = "public";
    private String initialState;
    private Duration timeout;
    private final Map<String, SagaStep> replySteps = new HashMap<>();
    private final Map<String, SagaStep> deadlineSteps = new HashMap<>();
    private final Map<String, SagaStep> lateSteps = new HashMap<>();
    private final Map<String, String> problems = new LinkedHashMap<>();
    private Function<InboundEvent, String> correlation = InboundEvent::aggregateId;
    private Duration pollInterval = Duration.ofSeconds(1);
    private int batchSize = 100;

    private Builder() {}

    /** Required: the saga type, the first part of its key in {@code saga} (1-100 characters). */
    public Builder type(String type) {
      this.type = type;
      return this;
    }

    /** Required: the database of the saga's tables and of the business rows its steps change. */
    public Builder jdbi(Jdbi jdbi) {
      this.jdbi = jdbi;
      return this;
    }

    /** Required: how the steps' events are written ({@link SagaContext#emit}). */
    public Builder outbox(Outbox outbox) {
      this.outbox = outbox;
      return this;
    }

    /** The schema of {@code saga} and {@code saga_step}; default {@code public}. */
    public Builder schema(String schema) {
      this.schema = schema;
      return this;
    }

    /** Required: the state {@link Saga#begin} creates a saga in. */
    public Builder initialState(String state) {
      this.initialState = state;
      return this;
    }

    /** The deadline of the initial state, from {@link Saga#begin}; default none. */
    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /** The step run when a reply of {@code eventType} comes while the saga is in {@code state}. */
    public Builder on(String state, String eventType, SagaStep step) {
      put(
          replySteps,
          key(state, eventType),
          named(state, eventType) ? step : null,
          "on(" + state + ", " + eventType + ")");
      return this;
    }

    /**
     * The step run when the deadline of {@code state} passes (default: the deadline is dropped).
     */
    public Builder onDeadline(String state, SagaStep step) {
      put(deadlineSteps, state, named(state) ? step : null, "onDeadline(" + state + ")");
      return this;
    }

    /**
     * The rule for a reply of {@code eventType} that comes while the saga is in a state without a
     * step for it, e.g. an acceptance after the timeout compensated: send a cancellation. It is
     * recorded as {@link SagaState.Outcome#LATE}. Without a rule, such a reply changes nothing and
     * is recorded as {@link SagaState.Outcome#IGNORED}.
     */
    public Builder onLate(String eventType, SagaStep step) {
      put(lateSteps, eventType, named(eventType) ? step : null, "onLate(" + eventType + ")");
      return this;
    }

    /** Which saga a reply belongs to; default its aggregate id. */
    public Builder correlation(Function<InboundEvent, String> correlation) {
      this.correlation = correlation;
      return this;
    }

    /** How often the scheduler looks for due deadlines; default 1 s. */
    public Builder pollInterval(Duration pollInterval) {
      this.pollInterval = pollInterval;
      return this;
    }

    /** Most deadlines fired in one pass of the scheduler; default 100. */
    public Builder batchSize(int batchSize) {
      this.batchSize = batchSize;
      return this;
    }

    private static boolean named(String... names) {
      for (String n : names) {
        if (n == null || n.isBlank()) {
          return false;
        }
      }
      return true;
    }

    private void put(Map<String, SagaStep> steps, String key, SagaStep step, String what) {
      if (step == null) {
        problems.put(what, what + " has no step or an empty name: give both");
      } else if (steps.putIfAbsent(key, step) != null) {
        problems.put(what, what + " is defined twice: one step per state and event");
      }
    }

    /** Checks every setting and builds; throws {@link OutboxException} naming what to fix. */
    public Saga build() {
      StringBuilder p = new StringBuilder();
      if (type == null || type.isBlank() || type.length() > 100) {
        p.append("; type is '").append(type).append("': give 1-100 characters");
      }
      if (jdbi == null) {
        p.append("; jdbi is missing: give the service's Jdbi");
      }
      if (outbox == null) {
        p.append("; outbox is missing: give the Outbox the steps write their events with");
      }
      try {
        TableName.of(schema, "saga");
      } catch (OutboxException e) {
        p.append("; ").append(e.getMessage());
      }
      if (initialState == null || initialState.isBlank()) {
        p.append("; initialState is missing: name the state begin() creates a saga in");
      }
      if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
        p.append("; timeout is ").append(timeout).append(": give a positive time or none");
      }
      if (pollInterval == null || pollInterval.toMillis() < 1) {
        p.append("; pollInterval is ").append(pollInterval).append(": give at least 1 ms");
      }
      if (batchSize < 1) {
        p.append("; batchSize is ").append(batchSize).append(": give 1 or more");
      }
      if (correlation == null) {
        p.append("; correlation is null: leave it unset for the aggregate id");
      }
      problems.values().forEach(v -> p.append("; ").append(v));
      if (p.length() > 0) {
        throw new OutboxException("saga '" + type + "' is misconfigured: " + p.substring(2));
      }
      return new Saga(this);
    }
  }
}
