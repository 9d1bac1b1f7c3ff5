package io.outboxkit.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.outboxkit.TableName;
import java.nio.file.Path;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;

/**
 * A relay under test with everything it works on: its outbox table, its stream, its process. The
 * workloads ({@link Workloads}) run the same way against both sides.
 */
abstract class Target implements AutoCloseable {
  /**
   * One start of the relay process.
   *
   * @param launchMicros wall clock just before the process was launched
   * @param readyMillis launch → ready
   * @param pid the JVM's pid
   */
  record Started(long launchMicros, long readyMillis, long pid) {}

  private HikariDataSource pool;

  abstract Side side();

  /** Creates the tables (outbox, inbox, effect) and whatever else must exist before the start. */
  abstract void prepare();

  /** Launches the relay and waits until it is ready; {@code pollMs} is the peer's poll interval. */
  abstract Started start(int pollMs);

  /** Stops the relay gracefully, keeping its slot and offsets for the next start. */
  abstract void stop();

  abstract boolean alive();

  abstract long pid();

  /** How the workloads write events for this relay. */
  abstract EventWriter writer();

  /** Unpooled: writers hold one connection each for a whole load. */
  abstract DataSource dataSource();

  abstract String stream();

  /** The literal subject of events with this aggregate type. */
  abstract String subject(String aggregateType);

  /** Where the consumers' dead letters go; the stream captures it. */
  abstract String deadLetterSubject();

  abstract TableName inbox();

  /** The consumers' effect table, {@code (id text, commit_us bigint)}. */
  abstract String effectTable();

  abstract CommitClock clock();

  abstract Path log();

  /** The relay's Prometheus endpoint, or null when it has none worth reading (the peer). */
  String prometheusUrl() {
    return null;
  }

  /** A small pool for the consumers (one transaction per event). */
  synchronized Jdbi jdbi(int size) {
    if (pool == null) {
      HikariConfig c = new HikariConfig();
      c.setDataSource(dataSource());
      c.setMaximumPoolSize(size);
      c.setMinimumIdle(size);
      c.setPoolName("bench-consumers");
      pool = new HikariDataSource(c);
    }
    return Jdbi.create(pool);
  }

  /** Closes the consumers' pool; subclasses stop the relay and drop what they made. */
  @Override
  public void close() {
    synchronized (this) {
      if (pool != null) {
        pool.close();
        pool = null;
      }
    }
  }
}
