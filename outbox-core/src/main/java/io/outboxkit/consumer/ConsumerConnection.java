package io.outboxkit.consumer;

import io.nats.client.Connection;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.outboxkit.Backoff;
import io.outboxkit.OutboxException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consumer's NATS connection. The caller's connection while it is open; once it is closed
 * (jnats stops reconnecting after {@code maxReconnects}, 60 by default, about two minutes of
 * outage; or its owner closed it before the consumer) a connection of the consumer's own, opened
 * from the same {@link Options} but with unlimited reconnects, so that an outage of any length
 * never stops the consumer. The consumer closes only the connections it opened.
 */
final class ConsumerConnection {
  private static final Logger log = LoggerFactory.getLogger(OutboxConsumer.class);

  /** The slowest pace of attempts to open a replacement while the server is away. */
  private static final Duration MAX_RETRY = Duration.ofSeconds(30);

  private final String consumer;
  private volatile Connection current;
  private Connection own; // guarded by this
  private boolean closed; // guarded by this

  ConsumerConnection(String consumer, Connection callers) {
    this.consumer = consumer;
    this.current = callers;
  }

  /** The connection to use now. */
  Connection get() {
    return current;
  }

  boolean isClosed() {
    return current.getStatus() == Connection.Status.CLOSED;
  }

  /**
   * Opens a replacement for the closed connection, retrying with backoff until it connects or
   * {@code stop} is released.
   *
   * @return true when the consumer has an open connection again, false when it was stopped
   */
  boolean replaceClosed(CountDownLatch stop) {
    Options options =
        new Options.Builder(current.getOptions())
            // -1: never give up. The caller's other options (servers, auth, TLS, listeners) stay.
            .maxReconnects(-1)
            .build();
    log.warn(
        "outbox consumer '{}': its NATS connection is closed (jnats stops reconnecting after"
            + " maxReconnects = {} attempts, or the connection was closed before the consumer)."
            + " The consumer opens a connection of its own with the same options and unlimited"
            + " reconnects, and closes it on close()",
        consumer,
        current.getOptions().getMaxReconnect());
    Duration wait = current.getOptions().getReconnectWait();
    Duration initial = wait.compareTo(Duration.ofMillis(100)) < 0 ? Duration.ofMillis(100) : wait;
    Backoff backoff = Backoff.of(initial, initial.compareTo(MAX_RETRY) > 0 ? initial : MAX_RETRY);
    for (long attempt = 1; stop.getCount() > 0; attempt++) {
      Connection opened = null;
      try {
        opened = Nats.connect(options);
      } catch (IOException | RuntimeException e) {
        Duration delay = backoff.delay(attempt);
        log.warn(
            "outbox consumer '{}': NATS is not reachable ({}); trying again in {} ms",
            consumer,
            OutboxException.describe(e),
            delay.toMillis());
        if (await(stop, delay)) {
          return false;
        }
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      synchronized (this) {
        if (closed || stop.getCount() == 0) {
          closeQuietly(opened);
          return false;
        }
        Connection previous = own;
        own = opened;
        current = opened;
        closeQuietly(previous);
      }
      log.info(
          "outbox consumer '{}' connected to NATS {} on a connection of its own",
          consumer,
          opened.getConnectedUrl());
      return true;
    }
    return false;
  }

  /** Closes the connection the consumer opened, if any; never the caller's. */
  void close() {
    Connection toClose;
    synchronized (this) {
      closed = true;
      toClose = own;
      own = null;
    }
    closeQuietly(toClose);
  }

  private static boolean await(CountDownLatch stop, Duration delay) {
    try {
      return stop.await(delay.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return true;
    }
  }

  private void closeQuietly(Connection connection) {
    if (connection == null) {
      return;
    }
    try {
      connection.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.debug("outbox consumer '{}': closing its connection failed: {}", consumer, e.toString());
    }
  }
}
