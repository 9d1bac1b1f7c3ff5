package io.outboxkit.relay;

import io.micronaut.runtime.Micronaut;
import org.slf4j.LoggerFactory;

/**
 * Starts the relay: {@code java -jar outbox-relay.jar}. A setting that is wrong stops it at once
 * with exit status 2 and one line that names the setting and the fix.
 */
public final class RelayApplication {
  private RelayApplication() {}

  public static void main(String[] args) {
    try {
      Micronaut.build(args).mainClass(RelayApplication.class).banner(false).start();
    } catch (RuntimeException e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof RelayException r) {
          LoggerFactory.getLogger(RelayApplication.class)
              .error("relay not started: {}", r.getMessage());
          System.exit(2);
        }
      }
      throw e;
    }
  }
}
