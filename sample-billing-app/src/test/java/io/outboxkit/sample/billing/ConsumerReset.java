package io.outboxkit.sample.billing;

import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import java.io.IOException;
import java.time.Duration;

/** Deletes durable consumers so that they set themselves up again from the start of the stream. */
final class ConsumerReset {
  private ConsumerReset() {}

  /**
   * Deletes {@code consumer}, retrying until a deadline: nats-server 2.9 can refuse the delete of a
   * consumer that is acknowledging at that moment ("unlinkat …: directory not empty"), and a delete
   * is safe to repeat. A consumer that is gone already counts as deleted.
   */
  static void delete(JetStreamManagement jsm, String stream, String consumer) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      try {
        jsm.deleteConsumer(stream, consumer);
        return;
      } catch (JetStreamApiException e) {
        if (e.getApiErrorCode() == 10014) {
          return; // consumer not found: deleted by the refused attempt after all
        }
        if (System.nanoTime() > deadline) {
          throw e;
        }
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
      }
      Thread.sleep(200);
    }
  }
}
