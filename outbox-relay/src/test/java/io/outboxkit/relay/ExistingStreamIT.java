package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.nats.client.api.DiscardPolicy;
import io.nats.client.api.RetentionPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.NatsProcess;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A stream the relay did not create is checked: what breaks its guarantees stops it (exit 2), what
 * weakens them is a warning; each names the stream setting and the fix.
 */
class ExistingStreamIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static NatsProcess nats;
  static Connection admin;
  static int run;

  @BeforeAll
  static void setUp() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    nats = infra.privateNats();
    admin = infra.closeAfterClass(TestInfra.connect(nats.url()));
  }

  /** Settings for a relay on a stream made beforehand from {@code stream}. */
  private static Map<String, String> env(StreamConfiguration.Builder stream) throws Exception {
    run++;
    String prefix = infra.prefix() + "e" + run;
    String name = infra.streamName() + "_E" + run;
    admin
        .jetStreamManagement()
        .addStream(stream.name(name).subjects(prefix + ".>", prefix + "-dlq.>").build());
    return RelayProcess.env(
        infra.pgHost(),
        infra.pgPort(),
        infra.database(),
        infra.pgUser(),
        infra.pgPassword(),
        nats.url(),
        name,
        prefix);
  }

  @Test
  void aShortDuplicateWindowIsRefused() throws Exception {
    Map<String, String> env =
        env(StreamConfiguration.builder().duplicateWindow(Duration.ofSeconds(10)));
    assertThat(LeastPrivilegeIT.refused(env))
        .contains(
            "has duplicate_window PT10S, shorter than outboxkit.relay.stream.duplicate-window")
        .contains("--dupe-window 120s");
  }

  @Test
  void workQueueAndInterestRetentionAreRefused() throws Exception {
    assertThat(
            LeastPrivilegeIT.refused(
                env(StreamConfiguration.builder().retentionPolicy(RetentionPolicy.WorkQueue))))
        .contains("has retention workqueue")
        .contains("--retention limits");
    assertThat(
            LeastPrivilegeIT.refused(
                env(StreamConfiguration.builder().retentionPolicy(RetentionPolicy.Interest))))
        .contains("has retention interest");
  }

  @Test
  void aMessageLimitTooSmallForADeadLetterIsRefused() throws Exception {
    assertThat(LeastPrivilegeIT.refused(env(StreamConfiguration.builder().maxMsgSize(1024))))
        .contains("'s max_msg_size is 1024 bytes, below the 4096 bytes the relay needs")
        .contains("to at least 4096");
  }

  @Test
  void weakerSettingsAreWarningsNamingTheFix() throws Exception {
    Map<String, String> env =
        env(
            StreamConfiguration.builder()
                .maxMsgSize(4096)
                .discardPolicy(DiscardPolicy.New)
                .maxMessages(1_000_000)
                .storageType(StorageType.Memory)
                .maxAge(Duration.ofDays(7)));
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      assertThat(relay.log())
          .contains("has max_msg_size 4096 bytes, below the server's max_payload 1048576")
          .contains("--max-msg-size=-1")
          .contains("has discard new with limits (max_msgs 1000000")
          .contains("--discard old")
          .contains("keeps its messages in memory");
    }
  }

  @Test
  void aLimitsStreamBoundByAgeAndSizeIsNormal() throws Exception {
    Map<String, String> env =
        env(StreamConfiguration.builder().maxAge(Duration.ofDays(7)).maxBytes(1L << 30));
    try (RelayProcess relay = new RelayProcess(env).start()) {
      relay.awaitStreaming(Duration.ofSeconds(90));
      assertThat(relay.log()).doesNotContain("io.outboxkit.relay.StreamProvisioner");
    }
  }
}
