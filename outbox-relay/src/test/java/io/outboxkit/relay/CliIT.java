package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.Connection;
import io.nats.client.PurgeOptions;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The outboxkit CLI end to end, as an operator runs it ({@code bin/outboxkit}), against a real
 * relay, PostgreSQL and NATS: status, dead letters listed, shown, redriven once and purged, a
 * consumer reset, a replay killed and resumed, and the recovery from a dropped slot. Streams have a
 * duplicate window of one second, so nothing here is kept from being stored twice by JetStream's
 * de-duplication: only by the CLI's own bookkeeping.
 */
class CliIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  private static int run;

  private Map<String, String> env;
  private String prefix;
  private String stream;
  private String slot;
  private CliRun cli;

  @BeforeEach
  void deployment() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    // Each test is its own deployment: its own slot and stream, and only its own rows.
    infra.jdbi().useHandle(h -> h.execute("TRUNCATE public.outbox"));
    run++;
    prefix = infra.prefix() + "c" + run;
    stream = infra.streamName() + "_C" + run;
    slot = prefix + "_slot";
    env = new LinkedHashMap<>(RelayProcess.env(infra, infra.natsUrl(), stream, prefix));
    env.put("OUTBOXKIT_RELAY_STREAM_DUPLICATE_WINDOW", "1s");
    cli = new CliRun(env);
  }

  private static final String INSERT =
      "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload, headers)"
          + " VALUES (?::uuid, ?, ?, ?, ?, ?::jsonb)";

  private static void insert(String id, String type, String event, String headers) {
    infra
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    INSERT,
                    id,
                    type,
                    "Zürich, Bahnhofstraße 1",
                    event,
                    ("{\"id\":\"" + id + "\",\"text\":\"grüße 🌍\"}")
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    headers));
  }

  @Test
  void statusDeadLettersRedriveOncePurgeAndConsumerReset() throws Exception {
    try (RelayProcess relay = new RelayProcess(env).start();
        Connection nc = TestInfra.connect(infra.natsUrl())) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      for (int i = 1; i <= 5; i++) {
        insert(id(1, i), "Zähler", "Read", null);
      }
      String reserved = id(2, 1);
      String badName = id(2, 2);
      String later = id(2, 3);
      insert(reserved, "Zähler", "Read", "{\"Nats-Rollup\": \"all\"}");
      insert(badName, "meter", "Read", "{\"bad name\": \"x\"}");
      StreamContents.awaitCount(nc, stream, 7, Duration.ofSeconds(60));

      CliRun.Result status = cli.run("status", "--json");
      assertThat(status.exit()).as(status.toString()).isZero();
      JsonNode st = status.json();
      assertThat(st.at("/relay/slotState/active").asBoolean()).isTrue();
      assertThat(st.at("/relay/lockHeldByPid").isNull()).isFalse();
      assertThat(st.at("/relay/offsets/lsn").isNull()).isFalse();
      assertThat(st.at("/stream/messages").asLong()).isEqualTo(7);
      assertThat(st.at("/stream/duplicateWindow").asText()).isEqualTo("PT1S");
      assertThat(st.at("/deadLetters/" + prefix + "-dlq.relay").asLong()).isEqualTo(2);
      CliRun.Result human = cli.run("status");
      assertThat(human.out()).contains("Dead letters: 2", "running (lock held", slot);

      // list and show: reasons and decoded headers
      CliRun.Result list = cli.run("dlq", "list", "--json");
      assertThat(list.exit()).as(list.toString()).isZero();
      Map<String, JsonNode> byId = byId(list.json());
      assertThat(byId).containsOnlyKeys(reserved, badName);
      assertThat(byId.get(reserved).get("kind").asText()).isEqualTo("reserved_header");
      assertThat(byId.get(reserved).get("reason").asText()).contains("Nats-Rollup");
      assertThat(byId.get(reserved).get("deadLetteredBy").asText()).isEqualTo("relay");
      long reservedSeq = byId.get(reserved).get("seq").asLong();
      long badSeq = byId.get(badName).get("seq").asLong();
      CliRun.Result show = cli.run("dlq", "show", Long.toString(reservedSeq), "--json");
      assertThat(show.exit()).as(show.toString()).isZero();
      assertThat(show.json().at("/headers/Outbox-Aggregate-Type").asText()).isEqualTo("Zähler");
      assertThat(show.json().at("/headers/Outbox-Aggregate-Id").asText())
          .isEqualTo("Zürich, Bahnhofstraße 1");
      assertThat(show.json().get("payload").asText()).contains("grüße 🌍");
      assertThat(cli.run("dlq", "show", "999999").exit()).isEqualTo(OutboxkitCli.NOT_FOUND);

      // redrive before the row is fixed: refused, nothing published
      CliRun.Result early = cli.run("dlq", "redrive", Long.toString(reservedSeq));
      assertThat(early.exit()).as(early.toString()).isEqualTo(OutboxkitCli.FAILED);
      assertThat(early.out()).contains("still cannot be published", "reserved_header");
      assertThat(idsOf(nc)).doesNotContain(reserved);

      // fixed: published once, on the subject the relay's rule gives, and the dead letter is gone
      fixHeaders(reserved, "{\"trace\": \"t-1\"}");
      CliRun.Result redrive = cli.run("dlq", "redrive", Long.toString(reservedSeq), "--json");
      assertThat(redrive.exit()).as(redrive.toString()).isZero();
      assertThat(redrive.json().get(0).get("outcome").asText()).isEqualTo("redriven");
      List<StreamContents.Stored> all = StreamContents.readAll(nc, stream);
      List<StreamContents.Stored> copies =
          all.stream().filter(s -> reserved.equals(s.msgId())).toList();
      assertThat(copies).hasSize(1);
      assertThat(copies.get(0).subject()).isEqualTo(prefix + ".Z%C3%A4hler.Read");
      assertThat(copies.get(0).header("trace")).isEqualTo("t-1");
      assertThat(copies.get(0).header(OutboxHeaders.AGGREGATE_ID))
          .isEqualTo("UTF-8''Z%C3%BCrich,%20Bahnhofstra%C3%9Fe%201");

      // a second redrive of the same dead letter, after the duplicate window: nothing
      awaitWindow();
      CliRun.Result again = cli.run("dlq", "redrive", Long.toString(reservedSeq));
      assertThat(again.exit()).as(again.toString()).isEqualTo(OutboxkitCli.NOT_FOUND);
      CliRun.Result againAll = cli.run("dlq", "redrive", "--all", "--json");
      assertThat(againAll.json().toString()).doesNotContain(reserved);

      // a redrive that stopped after its publish, before its record: found in the stream, not
      // published again
      fixHeaders(badName, "{\"good-name\": \"x\"}");
      long next = StreamContents.count(nc, stream) + 100; // any sequence before the publish
      infra
          .jdbi()
          .useHandle(
              h ->
                  h.execute(
                      "INSERT INTO outboxkit.relay_offsets_redrives (dead_letter, event_id,"
                          + " subject, from_seq) VALUES (?, ?, ?, ?)",
                      stream + ":" + badSeq + ":dlq-" + badName,
                      badName,
                      prefix + ".meter.Read",
                      lastSeq(nc) + 1));
      CliRun.Result crashed = cli.run("replay", "--from-id", badName, "--to-id", badName);
      assertThat(crashed.exit()).as(crashed.toString()).isZero();
      awaitWindow();
      CliRun.Result resumed = cli.run("dlq", "redrive", Long.toString(badSeq), "--json");
      assertThat(resumed.exit()).as(resumed.toString()).isZero();
      assertThat(resumed.json().get(0).get("outcome").asText()).isEqualTo("already_redriven");
      assertThat(next).isPositive();

      // purge: asks for --yes, then deletes
      insert(later, "meter", "Read", "{\"Outbox-Foo\": \"x\"}");
      Ports.await("a third dead letter", Duration.ofSeconds(30), () -> deadLetters() == 1);
      CliRun.Result ask = cli.run("dlq", "purge", "--all");
      assertThat(ask.exit()).as(ask.toString()).isEqualTo(OutboxkitCli.REFUSED);
      assertThat(ask.out()).contains("--yes");
      assertThat(deadLetters()).isEqualTo(1);
      CliRun.Result purge = cli.run("dlq", "purge", "--all", "--yes");
      assertThat(purge.exit()).as(purge.toString()).isZero();
      assertThat(deadLetters()).isZero();

      List<StreamContents.Stored> end = StreamContents.readAll(nc, stream);
      assertThat(StreamContents.duplicates(end)).isEmpty();
      assertThat(end.stream().map(StreamContents.Stored::msgId))
          .contains(reserved, badName, id(1, 1), id(1, 5));

      // consumer reset: to the start, then to a sequence
      String durable = prefix + "-reader";
      nc.jetStreamManagement()
          .addOrUpdateConsumer(
              stream,
              ConsumerConfiguration.builder()
                  .durable(durable)
                  .ackPolicy(AckPolicy.Explicit)
                  .deliverPolicy(io.nats.client.api.DeliverPolicy.New)
                  .build());
      assertThat(pending(nc, durable)).isZero();
      CliRun.Result dry = cli.run("consumer", "reset", durable, "--to-start");
      assertThat(dry.exit()).as(dry.toString()).isEqualTo(OutboxkitCli.REFUSED);
      assertThat(pending(nc, durable)).isZero();
      CliRun.Result reset = cli.run("consumer", "reset", durable, "--to-start", "--yes", "--json");
      assertThat(reset.exit()).as(reset.toString()).isZero();
      long total = StreamContents.count(nc, stream);
      assertThat(pending(nc, durable)).isEqualTo(total);
      long first = end.get(0).seq();
      CliRun.Result toSeq =
          cli.run("consumer", "reset", durable, "--to-seq", Long.toString(first + 2), "--yes");
      assertThat(toSeq.exit()).as(toSeq.toString()).isZero();
      assertThat(pending(nc, durable)).isEqualTo(total - 2);
      assertThat(cli.run("consumer", "reset", "nope", "--to-start").exit())
          .isEqualTo(OutboxkitCli.NOT_FOUND);
    }
  }

  @Test
  void replayKilledAndResumedStoresEachRowOnce() throws Exception {
    List<String> ids;
    try (RelayProcess relay = new RelayProcess(env).start();
        Connection nc = TestInfra.connect(infra.natsUrl())) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      ids = new OutboxLoad(infra.dataSource()).singleRows(600, 0);
      StreamContents.awaitCount(nc, stream, 600, Duration.ofSeconds(60));
      relay.stop();
    }
    try (Connection nc = TestInfra.connect(infra.natsUrl())) {
      // Lost: the stream forgets the events (as after a restore of an old backup).
      nc.jetStreamManagement().purgeStream(stream, PurgeOptions.subject(prefix + ".>"));
      assertThat(StreamContents.count(nc, stream)).isZero();
      CliRun.Result dry = cli.run("replay", "--all", "--dry-run", "--json");
      assertThat(dry.json().get("rows").asLong()).isEqualTo(600);

      Path out = Files.createTempFile("replay", ".out");
      Path err = Files.createTempFile("replay", ".err");
      Process p = cli.start(out, err, "replay", "--all", "--run", "r1", "--rate", "100");
      Ports.await(
          "the replay to store 150 events; stderr: " + Files.readString(err),
          Duration.ofSeconds(60),
          () -> StreamContents.count(nc, stream) >= 150);
      p.destroyForcibly().waitFor(); // kill -9: between publishes and progress records
      long stored = StreamContents.count(nc, stream);
      assertThat(stored).isBetween(150L, 599L);
      awaitWindow();

      CliRun.Result resume = cli.run("replay", "--all", "--run", "r1", "--json");
      assertThat(resume.exit()).as(resume.toString()).isZero();
      assertThat(resume.json().get("resumed").asBoolean()).isTrue();
      List<StreamContents.Stored> all = StreamContents.readAll(nc, stream);
      assertThat(StreamContents.duplicates(all)).isEmpty();
      assertThat(all.stream().map(StreamContents.Stored::msgId).collect(Collectors.toSet()))
          .isEqualTo(new HashSet<>(ids));
      assertThat(all).hasSize(600);
      // in id order, by the relay's rule
      assertThat(all.get(0).subject()).isEqualTo(prefix + ".meter.ReadingRecorded");
      awaitWindow();

      CliRun.Result done = cli.run("replay", "--all", "--run", "r1", "--json");
      assertThat(done.json().get("alreadyFinished").asBoolean()).as(done.toString()).isTrue();
      assertThat(StreamContents.count(nc, stream)).isEqualTo(600);
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  @Test
  void relayResetRecoversFromADroppedSlot() throws Exception {
    List<String> before;
    OutboxLoad load = new OutboxLoad(infra.dataSource());
    try (RelayProcess relay = new RelayProcess(env).start();
        Connection nc = TestInfra.connect(infra.natsUrl())) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      before = load.singleRows(20, 0);
      StreamContents.awaitCount(nc, stream, 20, Duration.ofSeconds(60));
      CliRun.Result busy = cli.run("relay", "reset", "--yes");
      assertThat(busy.exit()).as(busy.toString()).isEqualTo(OutboxkitCli.REFUSED);
      assertThat(busy.err()).contains("running");
      relay.stop();
    }
    List<String> gap = load.singleRows(30, 20); // written while the relay is down
    infra.jdbi().useHandle(h -> h.execute("SELECT pg_drop_replication_slot(?)", slot));
    try (RelayProcess refused = new RelayProcess(env).start()) {
      assertThat(refused.waitExit(Duration.ofSeconds(60))).isEqualTo(2);
      assertThat(refused.log()).contains("is gone");
    }
    try (Connection nc = TestInfra.connect(infra.natsUrl())) {
      CliRun.Result ask = cli.run("relay", "reset");
      assertThat(ask.exit()).as(ask.toString()).isEqualTo(OutboxkitCli.REFUSED);
      assertThat(ask.out()).contains("slot is gone", "50 rows", "--yes");
      assertThat(StreamContents.count(nc, stream)).isEqualTo(20);

      CliRun.Result reset = cli.run("relay", "reset", "--yes", "--json");
      assertThat(reset.exit()).as(reset.toString()).isZero();
      assertThat(reset.json().at("/problem").asText()).isEqualTo("slot_dropped");
      assertThat(reset.json().at("/replay/published").asLong()).isEqualTo(30);
      assertThat(reset.json().at("/replay/skipped").asLong()).isEqualTo(20);
      assertThat(cli.run("relay", "reset").exit()).isZero(); // nothing left to reset

      List<String> after;
      try (RelayProcess relay = new RelayProcess(env).start()) {
        relay.awaitStreaming(Duration.ofSeconds(60));
        after = load.singleRows(10, 50);
        StreamContents.awaitCount(nc, stream, 60, Duration.ofSeconds(60));
      }
      List<StreamContents.Stored> all = StreamContents.readAll(nc, stream);
      assertThat(StreamContents.duplicates(all)).isEmpty();
      Set<String> expected = new HashSet<>(before);
      expected.addAll(gap);
      expected.addAll(after);
      assertThat(all.stream().map(StreamContents.Stored::msgId).collect(Collectors.toSet()))
          .isEqualTo(expected);
    }
  }

  @Test
  void aConsumersDeadLetterIsRedrivenOnceAndAppliedOnce() throws Exception {
    OutboxSchema.migrateInbox(infra.dataSource(), TableName.DEFAULT_INBOX);
    infra.jdbi().useHandle(h -> h.execute("CREATE TABLE IF NOT EXISTS applied (id text)"));
    String poison = id(3, 2);
    java.util.concurrent.atomic.AtomicBoolean broken =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    try (RelayProcess relay = new RelayProcess(env).start();
        Connection nc = TestInfra.connect(infra.natsUrl())) {
      relay.awaitStreaming(Duration.ofSeconds(60));
      try (io.outboxkit.consumer.OutboxConsumer consumer =
          io.outboxkit.consumer.OutboxConsumer.builder()
              .name(prefix + "-billing")
              .connection(nc)
              .jdbi(infra.jdbi())
              .stream(stream)
              .filterSubject(prefix + ".>")
              .deadLetterSubject(prefix + "-dlq.billing")
              .maxDeliveries(2)
              .backoff(Duration.ofMillis(10), Duration.ofMillis(50))
              .handler(
                  (h, e) -> {
                    if (e.id().equals(poison) && broken.get()) {
                      throw new IllegalStateException("tariff missing for Zürich ✗");
                    }
                    h.execute("INSERT INTO applied (id) VALUES (?)", e.id());
                  })
              .build()
              .start()) {
        for (int i = 1; i <= 3; i++) {
          insert(id(3, i), "meter", "Read", "{\"traceparent\": \"00-abc-def-01\"}");
        }
        Ports.await(
            "the consumer's dead letter",
            Duration.ofSeconds(60),
            () ->
                cli.run("status", "--json")
                        .json()
                        .at("/deadLetters/" + prefix + "-dlq.billing")
                        .asLong()
                    == 1);
        JsonNode dl = cli.run("dlq", "list", "--json").json().get(0);
        assertThat(dl.get("deadLetteredBy").asText()).isEqualTo(prefix + "-billing");
        assertThat(dl.get("id").asText()).isEqualTo(poison);
        assertThat(dl.get("kind").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(dl.get("reason").asText()).contains("tariff missing for Zürich ✗");
        assertThat(dl.get("originalSubject").asText()).isEqualTo(prefix + ".meter.Read");
        assertThat(applied()).containsExactlyInAnyOrder(id(3, 1), id(3, 3));

        broken.set(false); // the fix
        awaitWindow();
        CliRun.Result redrive = cli.run("dlq", "redrive", dl.get("seq").asText(), "--json");
        assertThat(redrive.exit()).as(redrive.toString()).isZero();
        assertThat(redrive.json().get(0).get("outcome").asText()).isEqualTo("redriven");
        Ports.await(
            "the redriven event applied", Duration.ofSeconds(30), () -> applied().contains(poison));
        CliRun.Result again = cli.run("dlq", "redrive", "--all", "--json");
        assertThat(again.exit()).as(again.toString()).isZero();
        assertThat(again.json().size()).isZero();
        List<StreamContents.Stored> copies =
            StreamContents.readAll(nc, stream).stream()
                .filter(s -> poison.equals(s.msgId()))
                .toList();
        assertThat(copies).hasSize(2); // the original and its one redrive
        assertThat(copies.get(1).header("traceparent")).isEqualTo("00-abc-def-01");
        assertThat(copies.get(1).header(OutboxHeaders.ERROR)).isNull();
      }
      assertThat(applied()).containsExactlyInAnyOrder(id(3, 1), poison, id(3, 3));
    }
  }

  private static List<String> applied() {
    return infra
        .jdbi()
        .withHandle(h -> h.select("SELECT id FROM applied").mapTo(String.class).list());
  }

  private void awaitWindow() {
    long until = System.nanoTime() + Duration.ofMillis(1500).toNanos();
    Ports.await(
        "the 1 s duplicate window to pass", Duration.ofSeconds(5), () -> System.nanoTime() > until);
  }

  private static String id(int group, int n) {
    return String.format("01900000-0000-7000-8000-%06d%06d", group, n);
  }

  private static void fixHeaders(String id, String headers) {
    infra
        .jdbi()
        .useHandle(
            h ->
                h.execute(
                    "UPDATE public.outbox SET headers = ?::jsonb WHERE id = ?::uuid", headers, id));
  }

  private Set<String> idsOf(Connection nc) {
    return StreamContents.readAll(nc, stream).stream()
        .map(StreamContents.Stored::msgId)
        .collect(Collectors.toSet());
  }

  private long deadLetters() {
    JsonNode st = cli.run("status", "--json").json();
    JsonNode n = st.at("/deadLetters/" + prefix + "-dlq.relay");
    return n.isMissingNode() ? 0 : n.asLong();
  }

  private long lastSeq(Connection nc) throws Exception {
    return nc.jetStreamManagement().getStreamInfo(stream).getStreamState().getLastSequence();
  }

  private long pending(Connection nc, String durable) throws Exception {
    return nc.jetStreamManagement().getConsumerInfo(stream, durable).getNumPending();
  }

  private static Map<String, JsonNode> byId(JsonNode list) {
    Map<String, JsonNode> m = new LinkedHashMap<>();
    list.forEach(n -> m.put(n.get("id").asText(), n));
    return m;
  }
}
