package io.outboxkit.patterns.saga;

import io.outboxkit.Outbox;
import io.outboxkit.OutboxEvent;
import io.outboxkit.OutboxException;
import io.outboxkit.consumer.InboundEvent;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import org.jdbi.v3.core.Handle;

/** The {@link SagaContext} of one step: collects the new state, deadline, data and note. */
final class StepContext implements SagaContext {
  private final Handle handle;
  private final SagaStore.Row row;
  private final InboundEvent event;
  private final Outbox outbox;
  private String nextState;
  private Duration nextTimeout;
  private boolean moved;
  private boolean clearDeadline;
  private String data;
  private String note;

  StepContext(Handle handle, SagaStore.Row row, InboundEvent event, Outbox outbox) {
    this.handle = handle;
    this.row = row;
    this.event = event;
    this.outbox = outbox;
    this.nextState = row.state();
    this.data = row.data();
  }

  @Override
  public Handle handle() {
    return handle;
  }

  @Override
  public String id() {
    return row.id();
  }

  @Override
  public String state() {
    return row.state();
  }

  @Override
  public InboundEvent event() {
    return event;
  }

  @Override
  public <T> T data(Class<T> type) {
    try {
      return SagaStore.JSON.readValue(data, type);
    } catch (IOException e) {
      throw new OutboxException(
          "the data of saga '"
              + row.id()
              + "' cannot be read as "
              + type.getName()
              + ": "
              + e.getMessage(),
          e);
    }
  }

  @Override
  public void data(Object data) {
    this.data = SagaStore.json(data);
  }

  @Override
  public UUID emit(OutboxEvent event) {
    return outbox.write(handle, Objects.requireNonNull(event, "event"));
  }

  @Override
  public void moveTo(String state) {
    move(state, null);
  }

  @Override
  public void moveTo(String state, Duration timeout) {
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new OutboxException(
          "moveTo(" + state + ", " + timeout + "): give a positive timeout, or use moveTo(state)");
    }
    move(state, timeout);
  }

  private void move(String state, Duration timeout) {
    if (state == null || state.isBlank()) {
      throw new OutboxException("moveTo: the state is empty; name the state to move to");
    }
    this.nextState = state;
    this.nextTimeout = timeout;
    this.moved = true;
  }

  @Override
  public void note(String note) {
    this.note = note;
  }

  void clearDeadline() {
    this.clearDeadline = true;
  }

  boolean moved() {
    return moved;
  }

  /** Whether the deadline column changes: set anew on a move, cleared on request. */
  boolean deadlineChanges() {
    return moved || clearDeadline;
  }

  String nextState() {
    return nextState;
  }

  Duration nextTimeout() {
    return nextTimeout;
  }

  String nextData() {
    return data;
  }

  String note() {
    return note;
  }
}
