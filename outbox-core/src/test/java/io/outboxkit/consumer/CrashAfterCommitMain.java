package io.outboxkit.consumer;

import io.nats.client.Connection;
import io.outboxkit.testing.TestInfra;
import java.time.Duration;
import org.jdbi.v3.core.Jdbi;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A consumer process that dies the hard way (no shutdown hooks, no ack) right after it committed
 * its first message: {@code Runtime.halt(HALTED)} in the after-commit test hook. Started by {@link
 * ConsumerCrashIT} in its own JVM.
 *
 * <p>Arguments: natsUrl jdbcUrl user password stream consumerName deadLetterSubject ackWaitMillis.
 */
public final class CrashAfterCommitMain {
  /** The exit status that says the process reached the hook. */
  static final int HALTED = 77;

  private CrashAfterCommitMain() {}

  public static void main(String[] args) throws Exception {
    String natsUrl = args[0];
    PGSimpleDataSource dataSource = new PGSimpleDataSource();
    dataSource.setUrl(args[1]);
    dataSource.setUser(args[2]);
    dataSource.setPassword(args[3]);
    String stream = args[4];
    String name = args[5];
    String deadLetterSubject = args[6];
    Duration ackWait = Duration.ofMillis(Long.parseLong(args[7]));

    Connection nats = TestInfra.connect(natsUrl);
    OutboxConsumer.builder().name(name).connection(nats).jdbi(Jdbi.create(dataSource)).stream(
            stream)
        .deadLetterSubject(deadLetterSubject)
        .ackWait(ackWait)
        .handler((handle, event) -> ConsumerFixture.applyEffect(handle, name, event, "crashed"))
        .afterCommit(() -> Runtime.getRuntime().halt(HALTED))
        .build()
        .start();
    // The worker thread halts the JVM; if no message comes, give up.
    Thread.sleep(Duration.ofMinutes(2).toMillis());
    System.exit(3);
  }
}
