package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.NatsProcess;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Rows the relay cannot publish as they are (too large for the server's max_payload, headers NATS
 * cannot carry, an empty type written by SQL around the table's checks) become dead-letter records
 * with their id and reason; the rows after them keep flowing. Subject-hostile types are encoded by
 * the documented rule.
 */
class DeadLetterIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  @Test
  void badRowsAreDeadLetteredAndTheRestFlows() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    // A table without the checks, as a hand-made outbox in the wild could be.
    infra
        .jdbi()
        .useHandle(
            h -> {
              h.execute("ALTER TABLE public.outbox DROP CONSTRAINT outbox_aggregate_type_check");
            });
    NatsProcess nats = infra.privateNats(NatsProcess.options().withMaxPayload(64 * 1024));
    String stream = infra.streamName();
    String p = infra.prefix();
    try (RelayProcess relay =
            new RelayProcess(RelayProcess.env(infra, nats.url(), stream)).start();
        Connection nc = TestInfra.connect(nats.url())) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      infra
          .jdbi()
          .useHandle(
              h -> {
                String insert =
                    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload,"
                        + " headers) VALUES (?::uuid, ?, 'a-1', ?, ?, ?::jsonb)";
                h.execute(
                    insert,
                    "01900000-0000-7000-8000-000000000001",
                    "meter",
                    "Small",
                    new byte[] {'{', '}'},
                    null);
                h.execute(
                    insert,
                    "01900000-0000-7000-8000-000000000002",
                    "meter",
                    "Huge",
                    new byte[100 * 1024],
                    null);
                h.execute(
                    insert,
                    "01900000-0000-7000-8000-000000000003",
                    "billing.v2 *>",
                    "Was Billed",
                    new byte[] {'1'},
                    null);
                h.execute(
                    insert,
                    "01900000-0000-7000-8000-000000000004",
                    "meter",
                    "BadHeader",
                    new byte[] {'2'},
                    "{\"bad name\": \"x\"}");
                h.execute(
                    insert,
                    "01900000-0000-7000-8000-000000000005",
                    "",
                    "NoType",
                    new byte[] {'3'},
                    null);
                h.execute(
                    insert,
                    "01900000-0000-7000-8000-000000000006",
                    "meter",
                    "After",
                    new byte[] {'4'},
                    "{\"traceparent\": \"00-a-b-01\"}");
              });
      StreamContents.awaitCount(nc, stream, 6, Duration.ofSeconds(60));
      Map<String, StreamContents.Stored> byId =
          StreamContents.readAll(nc, stream).stream()
              .collect(
                  Collectors.toMap(
                      s -> s.header("Outbox-Id") != null ? s.header("Outbox-Id") : s.msgId(),
                      Function.identity()));

      assertThat(byId.get("01900000-0000-7000-8000-000000000001").subject())
          .isEqualTo(p + ".meter.Small");
      assertThat(byId.get("01900000-0000-7000-8000-000000000003").subject())
          .isEqualTo(p + ".billing%2Ev2%20%2A%3E.Was%20Billed");
      assertThat(
              byId.get("01900000-0000-7000-8000-000000000003").header(OutboxHeaders.AGGREGATE_TYPE))
          .isEqualTo("billing.v2 *>");

      StreamContents.Stored huge = byId.get("01900000-0000-7000-8000-000000000002");
      assertThat(huge.subject()).isEqualTo(p + "-dlq.relay");
      assertThat(huge.msgId()).isEqualTo("dlq-01900000-0000-7000-8000-000000000002");
      assertThat(huge.header(OutboxHeaders.ERROR_KIND)).isEqualTo("payload_too_large");
      assertThat(huge.header(OutboxHeaders.ERROR)).contains("max_payload of 65536 bytes");
      assertThat(huge.header(OutboxHeaders.PAYLOAD_SIZE)).isEqualTo("102400");
      assertThat(huge.header(OutboxHeaders.ORIGINAL_SUBJECT)).isEqualTo(p + ".meter.Huge");
      assertThat(huge.data()).isEmpty();

      StreamContents.Stored badHeader = byId.get("01900000-0000-7000-8000-000000000004");
      assertThat(badHeader.subject()).isEqualTo(p + "-dlq.relay");
      assertThat(badHeader.header(OutboxHeaders.ERROR_KIND)).isEqualTo("invalid_headers");
      assertThat(badHeader.header(OutboxHeaders.ERROR)).contains("bad name");
      assertThat(new String(badHeader.data())).isEqualTo("2");

      StreamContents.Stored noType = byId.get("01900000-0000-7000-8000-000000000005");
      assertThat(noType.header(OutboxHeaders.ERROR_KIND)).isEqualTo("invalid_row");
      assertThat(noType.header(OutboxHeaders.ERROR)).contains("aggregate_type is empty");

      StreamContents.Stored after = byId.get("01900000-0000-7000-8000-000000000006");
      assertThat(after.subject()).isEqualTo(p + ".meter.After");
      assertThat(after.header("traceparent")).isEqualTo("00-a-b-01");

      assertThat(relay.log()).contains("01900000-0000-7000-8000-000000000002 dead-lettered");
      assertThat(relay.metrics())
          .contains("outboxkit_relay_dead_letters_total{reason=\"payload_too_large\"} 1.0");
      assertThat(List.copyOf(byId.keySet())).hasSize(6);
    }
  }

  @Test
  void aServerThatComesBackWithASmallerMaxPayloadGetsTheLargeEventDeadLettered() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    NatsProcess nats = infra.privateNats();
    String stream = infra.streamName() + "_SHRUNK";
    java.util.Map<String, String> env =
        RelayProcess.env(
            infra.pgHost(),
            infra.pgPort(),
            infra.database(),
            infra.pgUser(),
            infra.pgPassword(),
            nats.url(),
            stream,
            infra.prefix() + "s");
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      nats.stop();
      nats.maxPayloadOnNextStart(32 * 1024);
      infra
          .jdbi()
          .useHandle(
              h ->
                  h.execute(
                      "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type,"
                          + " payload) VALUES ('01900000-0000-7000-8000-0000000000a1', 'meter',"
                          + " 'a-1', 'Huge', ?), ('01900000-0000-7000-8000-0000000000a2', 'meter',"
                          + " 'a-1', 'Small', ?)",
                      new byte[64 * 1024],
                      new byte[] {'{', '}'}));
      nats.start();
      try (Connection nc = TestInfra.connect(nats.url())) {
        StreamContents.awaitCount(nc, stream, 2, Duration.ofSeconds(60));
        List<StreamContents.Stored> stored = StreamContents.readAll(nc, stream);
        assertThat(stored.get(0).msgId()).isEqualTo("dlq-01900000-0000-7000-8000-0000000000a1");
        assertThat(stored.get(0).header(OutboxHeaders.ERROR))
            .contains("max_payload of 32768 bytes");
        assertThat(stored.get(1).msgId()).isEqualTo("01900000-0000-7000-8000-0000000000a2");
      }
    }
  }
}
