package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.testing.TestInfra;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class OutboxWriteIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static Outbox outbox;

  record ReadingRecorded(String meterId, double kwh) {}

  @BeforeAll
  static void migrate() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    // Idempotent: a second run is a no-op.
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    outbox = Outbox.builder().build();
  }

  @BeforeEach
  void empty() {
    infra.jdbi().useHandle(h -> h.execute("TRUNCATE public.outbox"));
  }

  long rows() {
    return infra
        .jdbi()
        .withHandle(h -> h.select("SELECT count(*) FROM public.outbox").mapTo(Long.class).one());
  }

  @Test
  void committedEventIsStoredWithItsFields() {
    UUID id =
        infra
            .jdbi()
            .inTransaction(
                h ->
                    outbox.write(
                        h,
                        OutboxEvent.of(
                                "meter", "m-1", "ReadingRecorded", new ReadingRecorded("m-1", 1.25))
                            .withHeader(
                                "traceparent",
                                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")));
    Map<String, Object> row =
        infra
            .jdbi()
            .withHandle(
                h -> h.select("SELECT * FROM public.outbox WHERE id = ?", id).mapToMap().one());
    assertThat(id.version()).isEqualTo(7);
    assertThat(row.get("aggregate_type")).isEqualTo("meter");
    assertThat(row.get("aggregate_id")).isEqualTo("m-1");
    assertThat(row.get("event_type")).isEqualTo("ReadingRecorded");
    assertThat(new String((byte[]) row.get("payload"), StandardCharsets.UTF_8))
        .isEqualTo("{\"meterId\":\"m-1\",\"kwh\":1.25}");
    assertThat(row.get("headers").toString()).contains("\"traceparent\"", "b7ad6b7169203331");
  }

  @Test
  void rolledBackTransactionLeavesNoRow() {
    assertThatThrownBy(
            () ->
                infra
                    .jdbi()
                    .useTransaction(
                        h -> {
                          outbox.write(
                              h,
                              OutboxEvent.of("meter", "m-1", "ReadingRecorded", Map.of("kwh", 1)));
                          outbox.writeAll(
                              h,
                              List.of(
                                  OutboxEvent.of("meter", "m-2", "ReadingRecorded", Map.of()),
                                  OutboxEvent.of("meter", "m-3", "ReadingRecorded", Map.of())));
                          throw new IllegalStateException("business rule failed");
                        }))
        .hasMessageContaining("business rule failed");
    assertThat(rows()).isZero();
  }

  @Test
  void writingOutsideATransactionIsRefused() {
    infra
        .jdbi()
        .useHandle(
            h -> {
              assertThatThrownBy(
                      () -> outbox.write(h, OutboxEvent.of("meter", "m-1", "E", Map.of())))
                  .isInstanceOf(OutboxException.class)
                  .hasMessageContaining("not in a transaction")
                  .hasMessageContaining("useTransaction");
              assertThatThrownBy(
                      () ->
                          outbox.writeAll(
                              h,
                              List.of(
                                  OutboxEvent.of("meter", "m-1", "E", Map.of()),
                                  OutboxEvent.of("meter", "m-2", "E", Map.of()))))
                  .isInstanceOf(OutboxException.class);
            });
    assertThat(rows()).isZero();
  }

  @Test
  void manyEventsAreWrittenInOneStatementWithAscendingIds() {
    List<OutboxEvent> events = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      events.add(
          OutboxEvent.of("meter", "m-" + (i % 7), "ReadingRecorded", new ReadingRecorded("m", i)));
    }
    AtomicInteger statements = new AtomicInteger();
    Jdbi counting =
        Jdbi.create(() -> countingStatements(infra.dataSource().getConnection(), statements));
    List<UUID> ids = counting.inTransaction(h -> outbox.writeAll(h, events));

    assertThat(statements).hasValue(1);
    assertThat(ids).hasSize(500).doesNotHaveDuplicates();
    List<UUID> stored =
        infra
            .jdbi()
            .withHandle(
                h -> h.select("SELECT id FROM public.outbox ORDER BY id").mapTo(UUID.class).list());
    assertThat(stored).containsExactlyElementsOf(ids);
  }

  @Test
  void rawJsonAndBytesPayloadsArePassedThroughUnchanged() {
    byte[] blob = {0, 1, 2, (byte) 0xff, 10, 13};
    List<UUID> ids =
        infra
            .jdbi()
            .inTransaction(
                h ->
                    outbox.writeAll(
                        h,
                        List.of(
                            OutboxEvent.of("a", "1", "Raw", Payload.rawJson("{ \"b\" : [1, 2] }")),
                            OutboxEvent.of(
                                "a",
                                "1",
                                "Blob",
                                Payload.bytes(blob, "application/octet-stream")))));
    byte[] raw =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.select("SELECT payload FROM public.outbox WHERE id = ?", ids.get(0))
                        .mapTo(byte[].class)
                        .one());
    assertThat(new String(raw, StandardCharsets.UTF_8)).isEqualTo("{ \"b\" : [1, 2] }");
    Map<String, Object> row =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.select("SELECT payload, headers FROM public.outbox WHERE id = ?", ids.get(1))
                        .mapToMap()
                        .one());
    assertThat((byte[]) row.get("payload")).containsExactly(blob);
    assertThat(row.get("headers").toString()).contains("application/octet-stream");
  }

  @Test
  void deleteAfterInsertLeavesTheTableEmptyButTheWalCarriesTheInsert() {
    Outbox deleting = Outbox.builder().deleteAfterInsert(true).build();
    String slot = infra.prefix() + "_wal_probe";
    infra
        .jdbi()
        .useHandle(
            h ->
                h.select("SELECT pg_create_logical_replication_slot(?, 'test_decoding')", slot)
                    .mapToMap()
                    .one());
    try {
      UUID one =
          infra
              .jdbi()
              .inTransaction(h -> deleting.write(h, OutboxEvent.of("meter", "m-1", "E", Map.of())));
      List<UUID> two =
          infra
              .jdbi()
              .inTransaction(
                  h ->
                      deleting.writeAll(
                          h,
                          List.of(
                              OutboxEvent.of("meter", "m-2", "E", Map.of()),
                              OutboxEvent.of("meter", "m-3", "E", Map.of()))));
      assertThat(rows()).isZero();
      List<String> changes =
          infra
              .jdbi()
              .withHandle(
                  h ->
                      h.select("SELECT data FROM pg_logical_slot_get_changes(?, NULL, NULL)", slot)
                          .mapTo(String.class)
                          .list());
      String all = String.join("\n", changes);
      assertThat(all)
          .contains("INSERT", one.toString(), two.get(0).toString(), two.get(1).toString());
    } finally {
      infra
          .jdbi()
          .useHandle(h -> h.select("SELECT pg_drop_replication_slot(?)", slot).mapToMap().list());
    }
  }

  @Test
  void purgeDeletesOnlyRowsOlderThanTheRetention() {
    infra
        .jdbi()
        .useTransaction(
            h -> {
              for (int i = 0; i < 25; i++) {
                outbox.write(h, OutboxEvent.of("meter", "old-" + i, "E", Map.of()));
              }
            });
    infra
        .jdbi()
        .useHandle(
            h -> h.execute("UPDATE public.outbox SET created_at = now() - interval '8 days'"));
    infra
        .jdbi()
        .useTransaction(h -> outbox.write(h, OutboxEvent.of("meter", "new", "E", Map.of())));

    long deleted = outbox.purge(infra.jdbi(), Duration.ofDays(7), 10);

    assertThat(deleted).isEqualTo(25);
    List<String> left =
        infra
            .jdbi()
            .withHandle(
                h -> h.select("SELECT aggregate_id FROM public.outbox").mapTo(String.class).list());
    assertThat(left).containsExactly("new");
  }

  @Test
  void plainSqlWritersGetUuidV7IdsAndTheTableChecksTheirRows() {
    UUID id =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.select(
                            "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, headers)"
                                + " VALUES ('meter', 'm-9', 'ReadingRecorded', convert_to('{\"kwh\": 2.5}', 'UTF8'),"
                                + " '{\"traceparent\": \"00-abc-def-01\"}') RETURNING id")
                        .mapTo(UUID.class)
                        .one());
    assertThat(id.version()).isEqualTo(7);
    assertThat(UuidV7.timestamp(id))
        .isCloseTo(
            java.time.Instant.now(),
            org.assertj.core.api.Assertions.within(1, java.time.temporal.ChronoUnit.MINUTES));

    assertThatThrownBy(
            () ->
                infra
                    .jdbi()
                    .useHandle(
                        h ->
                            h.execute(
                                "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('', 'x', 'E', '\\x00')")))
        .hasMessageContaining("aggregate_type");
    assertThatThrownBy(
            () ->
                infra
                    .jdbi()
                    .useHandle(
                        h ->
                            h.execute(
                                "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type, payload, headers) VALUES ('a', 'x', 'E', '\\x00', '[1]')")))
        .hasMessageContaining("headers");
  }

  @Test
  void migrationsRunInASchemaThatAlreadyHoldsTheApplicationsTables() {
    infra
        .jdbi()
        .useHandle(
            h -> h.execute("CREATE SCHEMA app; CREATE TABLE app.meter (id text PRIMARY KEY)"));
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.of("app", "outbox"));
    OutboxSchema.migrateInbox(infra.dataSource(), TableName.of("app", "inbox"));
    Outbox appOutbox = Outbox.builder().table(TableName.of("app", "outbox")).build();
    infra
        .jdbi()
        .useTransaction(h -> appOutbox.write(h, OutboxEvent.of("meter", "m-1", "E", Map.of())));
    long rows =
        infra
            .jdbi()
            .withHandle(h -> h.select("SELECT count(*) FROM app.outbox").mapTo(Long.class).one());
    assertThat(rows).isEqualTo(1);
  }

  @Test
  void missingTableGivesAnErrorThatSaysHowToCreateIt() {
    Outbox elsewhere = Outbox.builder().table(TableName.of("public", "no_such_outbox")).build();
    assertThatThrownBy(
            () ->
                infra
                    .jdbi()
                    .useTransaction(
                        h -> elsewhere.write(h, OutboxEvent.of("a", "b", "c", Map.of()))))
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("OutboxSchema.migrateOutbox");
  }

  private static Connection countingStatements(Connection real, AtomicInteger statements) {
    return (Connection)
        Proxy.newProxyInstance(
            OutboxWriteIT.class.getClassLoader(),
            new Class<?>[] {Connection.class},
            (proxy, method, args) -> {
              if (method.getName().equals("prepareStatement")
                  || method.getName().equals("createStatement")) {
                statements.incrementAndGet();
              }
              try {
                return method.invoke(real, args);
              } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }
}
