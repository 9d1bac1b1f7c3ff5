package io.outboxkit.sample.meter;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.outboxkit.Outbox;
import io.outboxkit.OutboxEvent;
import io.outboxkit.OutboxException;
import io.outboxkit.consumer.OutboxConsumer;
import io.outboxkit.patterns.saga.Saga;
import io.outboxkit.patterns.saga.SagaContext;
import io.outboxkit.patterns.saga.SagaState;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Meter onboarding, a saga with the billing service (outbox-patterns' {@link Saga}):
 *
 * <ol>
 *   <li>registration (one transaction): the meter row as PENDING, the saga in PENDING with its
 *       deadline, and {@code MeterRegistrationRequested} in the outbox;
 *   <li>billing's {@code AccountOpened}: the meter becomes ACTIVE and {@code MeterRegistered} is
 *       sent (what the read models count as a meter on the grid);
 *   <li>billing's {@code MeterRegistrationRejected}: the meter becomes REJECTED, with the reason;
 *   <li>no answer within {@code meter.onboarding.timeout}: compensated, the meter becomes TIMED_OUT
 *       (the deadline is a column of the saga's row, so a restart does not lose it).
 * </ol>
 *
 * <p>The rule for late answers: an {@code AccountOpened} that finds the meter REJECTED or TIMED_OUT
 * is compensated with {@code MeterRegistrationCancelled} (billing closes the account); the meter
 * stays as it is. A late rejection needs nothing. A second answer of the same type is a duplicate
 * and dropped. Billing's answers are consumed by the durable consumer {@code meter-onboarding} from
 * billing's stream, started in the background (it waits for NATS and the stream).
 */
@Context
final class Onboarding implements ApplicationEventListener<ServerStartupEvent> {
  static final String SAGA = "meter-onboarding";
  static final String CONSUMER = "meter-onboarding";
  static final String PENDING = "PENDING";
  static final String ACTIVE = "ACTIVE";
  static final String REJECTED = "REJECTED";
  static final String TIMED_OUT = "TIMED_OUT";

  private static final Logger log = LoggerFactory.getLogger(Onboarding.class);
  private static final Duration RETRY = Duration.ofSeconds(2);

  private final OnboardingSettings settings;
  private final Jdbi jdbi;
  private final Saga saga;
  private final ScheduledExecutorService starter =
      Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "onboarding-starter"));
  private volatile Connection nats;
  private volatile OutboxConsumer consumer;
  private volatile boolean closed;
  private int attempts;

  Onboarding(OnboardingSettings settings, Jdbi jdbi, Outbox outbox) {
    if (!settings.saga() && !"direct".equals(settings.mode())) {
      throw new OutboxException(
          "setting meter.onboarding.mode (env METER_ONBOARDING) is '"
              + settings.mode()
              + "': use direct or saga");
    }
    this.settings = settings;
    this.jdbi = jdbi;
    this.saga =
        Saga.builder()
            .type(SAGA)
            .jdbi(jdbi)
            .outbox(outbox)
            .initialState(PENDING)
            .timeout(settings.timeout())
            .pollInterval(settings.pollInterval())
            .on(PENDING, Events.ACCOUNT_OPENED, Onboarding::activate)
            .on(PENDING, Events.REGISTRATION_REJECTED, Onboarding::reject)
            .onDeadline(PENDING, Onboarding::timeOut)
            .onLate(Events.ACCOUNT_OPENED, Onboarding::cancelLateAcceptance)
            .onLate(
                Events.REGISTRATION_REJECTED,
                ctx -> ctx.note("late rejection in " + ctx.state() + ": nothing to undo"))
            .build();
  }

  boolean sagaMode() {
    return settings.saga();
  }

  /** Step 1, in the registration's transaction: the saga and billing's request. */
  void begin(Handle h, Requests.NewMeter m, Instant registeredAt) {
    saga.begin(
        h,
        m.meterId(),
        m,
        OutboxEvent.of(
            Events.ONBOARDING,
            m.meterId(),
            Events.REGISTRATION_REQUESTED,
            new Events.MeterRegistrationRequested(
                m.meterId(), m.accountId(), m.feederId(), m.tariff(), registeredAt)));
  }

  private static void activate(SagaContext ctx) {
    Handle h = ctx.handle();
    Events.MeterRegistered registered =
        h.createQuery(
                "UPDATE meter SET status = 'ACTIVE', status_reason = NULL"
                    + " WHERE meter_id = :id AND status = 'PENDING'"
                    + " RETURNING meter_id, account_id, feeder_id, tariff, registered_at")
            .bind("id", ctx.id())
            .map(
                (rs, c) ->
                    new Events.MeterRegistered(
                        rs.getString(1),
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4),
                        rs.getObject(5, java.time.OffsetDateTime.class).toInstant()))
            .findOne()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "meter " + ctx.id() + " is not PENDING although its onboarding is"));
    ctx.emit(OutboxEvent.of(Events.AGGREGATE_TYPE, ctx.id(), Events.METER_REGISTERED, registered));
    ctx.moveTo(ACTIVE);
  }

  private static void reject(SagaContext ctx) {
    Events.MeterRegistrationRejected r =
        ctx.event().payloadAs(Events.MeterRegistrationRejected.class);
    String reason = r.reason() + (r.detail() == null ? "" : ": " + r.detail());
    setStatus(ctx, REJECTED, "billing rejected it: " + reason);
    ctx.note(reason);
    ctx.moveTo(REJECTED);
  }

  private static void timeOut(SagaContext ctx) {
    setStatus(ctx, TIMED_OUT, "billing did not answer in time");
    ctx.note("no answer from billing in time: compensated");
    ctx.moveTo(TIMED_OUT);
  }

  /** Billing opened an account after all: ask it to close it again; the meter stays as it is. */
  private static void cancelLateAcceptance(SagaContext ctx) {
    Requests.NewMeter m = ctx.data(Requests.NewMeter.class);
    ctx.emit(
        OutboxEvent.of(
            Events.ONBOARDING,
            ctx.id(),
            Events.REGISTRATION_CANCELLED,
            new Events.MeterRegistrationCancelled(
                ctx.id(),
                m.accountId(),
                "accepted after the onboarding ended " + ctx.state(),
                Instant.now())));
    ctx.note("late acceptance in " + ctx.state() + ": compensated with MeterRegistrationCancelled");
  }

  private static void setStatus(SagaContext ctx, String status, String reason) {
    int n =
        ctx.handle()
            .createUpdate(
                "UPDATE meter SET status = :status, status_reason = :reason"
                    + " WHERE meter_id = :id AND status = 'PENDING'")
            .bind("status", status)
            .bind("reason", reason)
            .bind("id", ctx.id())
            .execute();
    if (n != 1) {
      throw new IllegalStateException(
          "meter " + ctx.id() + " is not PENDING although its onboarding is");
    }
  }

  Optional<SagaState> find(String meterId) {
    return saga.find(meterId);
  }

  Views.OnboardingSummary summary() {
    Map<String, Long> states = saga.countByState();
    Map<String, Long> late = saga.lateReplies();
    OutboxConsumer c = consumer;
    return new Views.OnboardingSummary(
        settings.mode(),
        states,
        late,
        late.getOrDefault(Events.ACCOUNT_OPENED, 0L),
        c != null && c.isRunning());
  }

  @Override
  public void onApplicationEvent(ServerStartupEvent event) {
    if (!settings.saga()) {
      return;
    }
    saga.start();
    starter.execute(this::startConsumer);
  }

  private synchronized void startConsumer() {
    if (closed || consumer != null) {
      return;
    }
    attempts++;
    try {
      if (nats == null) {
        nats =
            Nats.connect(
                new Options.Builder()
                    .server(settings.natsUrl())
                    .connectionName("sample-meter-app")
                    .connectionTimeout(Duration.ofSeconds(5))
                    .maxReconnects(-1)
                    .build());
      }
      consumer =
          OutboxConsumer.builder().name(CONSUMER).connection(nats).jdbi(jdbi).stream(
                  settings.stream())
              .filterSubject(settings.replySubject())
              .deadLetterSubject(settings.deadLetterSubject())
              .handler(saga.replies())
              .build()
              .start();
      log.info(
          "onboarding: consumer {} of billing's answers on {} ({}), timeout {}",
          CONSUMER,
          settings.stream(),
          settings.replySubject(),
          settings.timeout());
      return;
    } catch (OutboxException | IOException e) {
      if (attempts == 1 || attempts % 15 == 0) {
        log.warn(
            "onboarding: consumer of billing's answers not started yet ({}); retrying every {} s",
            e.getMessage(),
            RETRY.toSeconds());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    if (!closed) {
      starter.schedule(this::startConsumer, RETRY.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  @PreDestroy
  void close() {
    closed = true;
    starter.shutdownNow();
    saga.close();
    synchronized (this) {
      if (consumer != null) {
        consumer.close();
      }
      if (nats != null) {
        try {
          nats.close();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
