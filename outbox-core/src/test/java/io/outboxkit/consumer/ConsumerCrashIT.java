package io.outboxkit.consumer;

import static io.outboxkit.consumer.ConsumerFixture.applyEffect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.outboxkit.consumer.ConsumerFixture.TestStream;
import io.outboxkit.testing.TestInfra;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Reliability case 9: a consumer dies after its commit, before its ack. */
class ConsumerCrashIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static ConsumerFixture fx;

  @BeforeAll
  static void migrate() {
    fx = new ConsumerFixture(infra);
    fx.migrate();
  }

  @AfterEach
  void closeConsumers() {
    fx.closeConsumers();
  }

  @Test
  void aConsumerKilledBetweenCommitAndAckDoesNotApplyTheRedeliveryAgain() throws Exception {
    TestStream stream = fx.stream();
    String name = "crash";
    Duration ackWait = Duration.ofSeconds(2);
    stream.relay().publish(TestRelay.event("m-1", "{\"kwh\":1}"));

    // The child runs without Micrometer on its class path: the library must not need it.
    String fullClasspath = System.getProperty("java.class.path");
    assertThat(fullClasspath).contains("micrometer-core");
    String classpath =
        Arrays.stream(fullClasspath.split(File.pathSeparator))
            .filter(entry -> !entry.contains("micrometer"))
            .collect(Collectors.joining(File.pathSeparator));
    Path log = Files.createTempFile("outboxkit-crash-child-", ".log");
    Process child =
        new ProcessBuilder(
                List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp",
                    classpath,
                    CrashAfterCommitMain.class.getName(),
                    infra.natsUrl(),
                    infra.jdbcUrl(),
                    infra.pgUser(),
                    infra.pgPassword(),
                    stream.name(),
                    name,
                    stream.deadLetterSubject(name),
                    Long.toString(ackWait.toMillis())))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    boolean exited = child.waitFor(120, TimeUnit.SECONDS);
    if (!exited) {
      child.destroyForcibly();
    }
    String output = Files.readString(log);
    assertThat(exited).as("child exited; its output:%n%s", output).isTrue();
    assertThat(child.exitValue())
        .as("child halted at the after-commit hook; its output:%n%s", output)
        .isEqualTo(CrashAfterCommitMain.HALTED);
    Files.deleteIfExists(log);

    // Committed, not acknowledged.
    assertThat(fx.effects(name)).isEqualTo(1);
    assertThat(fx.inboxRows(name)).isEqualTo(1);
    assertThat(fx.info(stream, name).getNumAckPending()).isEqualTo(1);

    AtomicInteger calls = new AtomicInteger();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    fx.started(
        fx.consumer(
                stream,
                name,
                (h, e) -> {
                  calls.incrementAndGet();
                  applyEffect(h, name, e, "survivor");
                })
            .ackWait(ackWait)
            .meterRegistry(registry));

    // The server redelivers after ackWait; the inbox recognises it.
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                count(registry, "duplicate") + count(registry, "applied") >= 1
                    && fx.settled(stream, name));
    assertThat(count(registry, "duplicate")).isEqualTo(1);
    assertThat(calls).hasValue(0);
    assertThat(fx.effects(name)).isEqualTo(1);
    assertThat(fx.count("SELECT count(*) FROM effect WHERE applied_by = 'crashed'")).isEqualTo(1);
    assertThat(fx.info(stream, name).getDelivered().getConsumerSequence()).isEqualTo(2);
  }

  private static double count(SimpleMeterRegistry registry, String outcome) {
    return registry.find("outboxkit.consumer.messages").tag("outcome", outcome).counter().count();
  }
}
