package io.outboxkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.outboxkit.testing.TestInfra;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * {@code Outbox.write}/{@code writeAll} on a {@link Connection} of the caller's transaction,
 * without JDBI: inside Spring-managed transactions ({@link DataSourceTransactionManager}, the
 * connection from {@link DataSourceUtils#getConnection}, as in a {@code @Transactional} method) and
 * with plain JDBC. The event commits and rolls back with the business row; autocommit is refused.
 */
class OutboxJdbcConnectionIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();

  static Outbox outbox;
  static DataSource dataSource;

  @BeforeAll
  static void migrate() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    infra
        .jdbi()
        .useHandle(
            h -> h.execute("CREATE TABLE reading (meter_id text NOT NULL, kwh numeric NOT NULL)"));
    outbox = Outbox.builder().build();
    dataSource = infra.dataSource();
  }

  @BeforeEach
  void empty() {
    infra.jdbi().useHandle(h -> h.execute("TRUNCATE public.outbox, reading"));
  }

  static OutboxEvent reading(String meter, double kwh) {
    return OutboxEvent.of(
            "zähler",
            meter,
            "ReadingRecorded",
            Map.of("meterId", meter, "kwh", kwh, "note", "Grüße 🌩\r\n"))
        .withHeader("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  }

  static long count(String table) {
    return infra
        .jdbi()
        .withHandle(h -> h.select("SELECT count(*) FROM " + table).mapTo(Long.class).one());
  }

  // --- Spring: DataSourceTransactionManager, DataSourceUtils.getConnection ----------------------

  @Test
  void springTransactionCommitsTheEventWithTheBusinessRow() throws Exception {
    TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    JdbcTemplate jdbc = new JdbcTemplate(dataSource);
    UUID id =
        tx.execute(
            status -> {
              jdbc.update("INSERT INTO reading (meter_id, kwh) VALUES (?, ?)", "m-1", 1.25);
              return outbox.write(DataSourceUtils.getConnection(dataSource), reading("m-1", 1.25));
            });
    assertThat(count("reading")).isEqualTo(1);
    String payload =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.select("SELECT payload FROM public.outbox WHERE id = ?", id)
                        .mapTo(byte[].class)
                        .map(b -> new String(b, StandardCharsets.UTF_8))
                        .one());
    assertThat(
            new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(payload)
                .path("note")
                .asText())
        .isEqualTo("Grüße 🌩\r\n");
    assertThat(id.version()).isEqualTo(7);
  }

  @Test
  void springRollbackLeavesNeitherRow() {
    TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    JdbcTemplate jdbc = new JdbcTemplate(dataSource);
    assertThatThrownBy(
            () ->
                tx.executeWithoutResult(
                    status -> {
                      jdbc.update("INSERT INTO reading (meter_id, kwh) VALUES (?, ?)", "m-2", 2.0);
                      outbox.writeAll(
                          DataSourceUtils.getConnection(dataSource),
                          List.of(reading("m-2", 2.0), reading("m-2", 2.5)));
                      throw new IllegalStateException("business rule failed after the write");
                    }))
        .hasMessage("business rule failed after the write");
    assertThat(count("reading")).isZero();
    assertThat(count("public.outbox")).isZero();
  }

  @Test
  void springConnectionOutsideATransactionIsRefused() throws Exception {
    Connection c = DataSourceUtils.getConnection(dataSource); // no transaction: autocommit
    try {
      assertThatThrownBy(() -> outbox.write(c, reading("m-3", 3.0)))
          .isInstanceOf(OutboxException.class)
          .hasMessageContaining("autocommit")
          .hasMessageContaining("dual write")
          .hasMessageContaining("DataSourceUtils.getConnection");
    } finally {
      DataSourceUtils.releaseConnection(c, dataSource);
    }
    assertThat(count("public.outbox")).isZero();
  }

  @Test
  void concurrentSpringTransactionsEachCommitTheirEvents() throws Exception {
    TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    List<Future<List<UUID>>> futures = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      String meter = "m-" + t;
      futures.add(
          pool.submit(
              () -> {
                List<UUID> ids = new ArrayList<>();
                for (int i = 0; i < 25; i++) {
                  double kwh = i;
                  ids.addAll(
                      tx.execute(
                          s ->
                              outbox.writeAll(
                                  DataSourceUtils.getConnection(dataSource),
                                  List.of(reading(meter, kwh), reading(meter, kwh + 0.5)))));
                }
                return ids;
              }));
    }
    List<UUID> all = Collections.synchronizedList(new ArrayList<>());
    for (Future<List<UUID>> f : futures) {
      all.addAll(f.get());
    }
    pool.shutdown();
    assertThat(all).hasSize(200).doesNotHaveDuplicates();
    assertThat(count("public.outbox")).isEqualTo(200);
  }

  // --- plain JDBC
  // ---------------------------------------------------------------------------------

  @Test
  void plainJdbcCommitAndRollback() throws Exception {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      business(c, "m-4");
      List<UUID> ids = outbox.writeAll(c, List.of(reading("m-4", 1), reading("m-4", 2)));
      c.commit();
      assertThat(ids).hasSize(2).isSorted();

      business(c, "m-5");
      outbox.write(c, reading("m-5", 5));
      c.rollback();
    }
    assertThat(count("reading")).isEqualTo(1);
    List<String> aggregateIds =
        infra
            .jdbi()
            .withHandle(
                h ->
                    h.select("SELECT aggregate_id FROM public.outbox ORDER BY id")
                        .mapTo(String.class)
                        .list());
    assertThat(aggregateIds).containsExactly("m-4", "m-4");
  }

  @Test
  void plainJdbcAutocommitIsRefusedAndWritesNothing() throws Exception {
    try (Connection c = dataSource.getConnection()) {
      assertThat(c.getAutoCommit()).isTrue();
      assertThatThrownBy(() -> outbox.write(c, reading("m-6", 6)))
          .isInstanceOf(OutboxException.class)
          .hasMessageContaining("autocommit mode")
          .hasMessageContaining("connection.setAutoCommit(false)");
      assertThatThrownBy(() -> outbox.writeAll(c, List.of(reading("m-6", 6), reading("m-6", 7))))
          .isInstanceOf(OutboxException.class)
          .hasMessageContaining("autocommit mode");
    }
    assertThat(count("public.outbox")).isZero();
    assertThatThrownBy(() -> outbox.write((Connection) null, reading("m-6", 6)))
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("connection is null");
  }

  @Test
  void closedConnectionIsRefusedNamingTheCause() throws Exception {
    Connection c = dataSource.getConnection();
    c.setAutoCommit(false);
    c.close();
    assertThatThrownBy(() -> outbox.write(c, reading("m-7", 7)))
        .isInstanceOf(OutboxException.class)
        .hasMessageContaining("pass an open connection");
  }

  private static void business(Connection c, String meter) throws Exception {
    try (PreparedStatement ps =
        c.prepareStatement("INSERT INTO reading (meter_id, kwh) VALUES (?, 1)")) {
      ps.setString(1, meter);
      ps.executeUpdate();
    }
  }
}
