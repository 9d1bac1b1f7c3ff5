package io.outboxkit.consumer;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.OutboxException;
import java.time.Duration;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

class OutboxConsumerBuilderTest {
  // Never connects: Jdbi opens connections lazily.
  static final Jdbi JDBI = Jdbi.create("jdbc:postgresql://127.0.0.1:1/none");

  @Test
  void missingRequiredSettingsAreAllNamedWithTheirFix() {
    assertThatThrownBy(() -> OutboxConsumer.builder().build())
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("name is missing: set name(")
        .hasMessageContaining("connection is missing: set connection(Nats.connect(")
        .hasMessageContaining("jdbi is missing: set jdbi(")
        .hasMessageContaining("stream is missing: set stream(\"OUTBOX\")")
        .hasMessageContaining("handler is missing: set handler(");
  }

  @Test
  void onlyWhatIsMissingIsReported() {
    assertThatThrownBy(
            () ->
                OutboxConsumer.builder().name("billing").jdbi(JDBI).stream("OUTBOX")
                    .handler((h, e) -> {})
                    .build())
        .hasMessage(
            "OutboxConsumer 'billing' is not configured correctly: connection is missing: set"
                + " connection(Nats.connect(...))");
  }

  @Test
  void namesThatAreNoDurableNameAreRefused() {
    for (String bad :
        new String[] {"bill.ing", "bill ing", "bill*", "bill>", "a/b", "x".repeat(129)}) {
      assertThatThrownBy(() -> OutboxConsumer.builder().name(bad).build())
          .as(bad)
          .hasMessageContaining("is not a valid durable consumer name")
          .hasMessageContaining("A-Z a-z 0-9 _ -");
    }
  }

  @Test
  void badValuesAreNamedWithTheirFix() {
    assertThatThrownBy(
            () ->
                OutboxConsumer.builder().name("billing").stream("OUT.BOX")
                    .filterSubject("outbox..x")
                    .maxDeliveries(0)
                    .backoff(Duration.ofSeconds(5), Duration.ofSeconds(1))
                    .ackWait(Duration.ofMillis(10))
                    .maxAckPending(0)
                    .batchSize(0)
                    .deadLetterSubject("dlq.*")
                    .inboxTable(null)
                    .build())
        .hasMessageContaining("stream 'OUT.BOX' is not a valid stream name")
        .hasMessageContaining("filterSubject 'outbox..x' is not a valid subject")
        .hasMessageContaining("maxDeliveries is 0: give 1 or more")
        .hasMessageContaining("backoff(PT5S, PT1S) is invalid: initial must be at least 1 ms and")
        .hasMessageContaining("ackWait is PT0.01S: give at least 1 second")
        .hasMessageContaining("maxAckPending is 0: give 1 or more")
        .hasMessageContaining("batchSize is 0: give 1 or more")
        .hasMessageContaining("deadLetterSubject 'dlq.*' is not a valid subject to publish to")
        .hasMessageContaining("inboxTable is null");
  }

  @Test
  void nullDurationsAreRefusedNotThrownAsNullPointers() {
    assertThatThrownBy(() -> OutboxConsumer.builder().backoff(null, null).ackWait(null).build())
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("backoff(null, null) is invalid")
        .hasMessageContaining("ackWait is null");
  }

  @Test
  void aBatchLargerThanMaxAckPendingIsRefused() {
    assertThatThrownBy(() -> OutboxConsumer.builder().maxAckPending(10).batchSize(11).build())
        .hasMessageContaining("batchSize 11 exceeds maxAckPending 10");
  }

  @Test
  void aDeadLetterSubjectInsideTheFilterIsRefused() {
    assertThatThrownBy(
            () -> OutboxConsumer.builder().name("billing").filterSubject("outbox-dlq.>").build())
        .hasMessageContaining(
            "deadLetterSubject 'outbox-dlq.billing' matches filterSubject 'outbox-dlq.>'")
        .hasMessageContaining("would receive its own dead letters");
  }
}
