package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.ConsumerContext;
import io.nats.client.IterableConsumer;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamOptions;
import io.nats.client.Message;
import io.nats.client.StreamContext;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import java.io.IOException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * What one CLI command works with: the relay's settings, its database, a NATS connection (opened
 * when first needed), the relay's conversion rule and its view of the stream.
 */
final class CliSession implements AutoCloseable {
  final RelaySettings settings;
  final SourceDatabase db;
  private Connection nats;

  CliSession(RelaySettings settings) {
    this.settings = settings;
    this.db = new SourceDatabase(settings);
  }

  String stream() {
    return settings.stream().name();
  }

  synchronized Connection nats() {
    if (nats == null) {
      nats = new NatsConnector(settings.nats(), "outboxkit-cli", 10_000).connect();
    }
    return nats;
  }

  JetStreamManagement jsm() {
    try {
      return nats().jetStreamManagement();
    } catch (IOException e) {
      throw RelayException.retryable("JetStream is not available: " + e.getMessage(), e);
    }
  }

  /** The relay's conversion of a row into the message it publishes (or its dead letter). */
  RowConverter converter() {
    return new RowConverter(
        settings.subjects(), deadLetters(), settings.messagePrefix(), settings.columns());
  }

  DeadLetters deadLetters() {
    return new DeadLetters(settings.deadLetterSubject());
  }

  /** The relay's reader of its own messages in the stream. */
  StreamTail tail() {
    return new StreamTail(stream(), settings.subjects().wildcard(), settings.deadLetterSubject());
  }

  /**
   * Reads the stream's messages on {@code filter} from {@code fromSeq} (or from {@code fromTime}
   * when not null) to the end, in order, handing each to {@code each} until it returns false.
   */
  void read(
      String filter,
      long fromSeq,
      ZonedDateTime fromTime,
      boolean headersOnly,
      Predicate<Message> each) {
    try {
      StreamContext sc =
          nats()
              .getStreamContext(
                  stream(),
                  JetStreamOptions.builder().requestTimeout(Duration.ofSeconds(10)).build());
      ConsumerConfiguration.Builder b =
          ConsumerConfiguration.builder()
              .name("outboxkit-cli-" + UUID.randomUUID().toString().substring(0, 8))
              .ackPolicy(AckPolicy.None)
              .filterSubject(filter)
              .headersOnly(headersOnly)
              .inactiveThreshold(Duration.ofSeconds(30));
      if (fromTime != null) {
        b.deliverPolicy(DeliverPolicy.ByStartTime).startTime(fromTime);
      } else if (fromSeq > 1) {
        b.deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(fromSeq);
      } else {
        b.deliverPolicy(DeliverPolicy.All);
      }
      ConsumerContext cc = sc.createOrUpdateConsumer(b.build());
      long pending = cc.getCachedConsumerInfo().getNumPending();
      try (IterableConsumer it = cc.iterate()) {
        for (long i = 0; i < pending; i++) {
          Message m = it.nextMessage(Duration.ofSeconds(10));
          if (m == null) {
            throw RelayException.retryable(
                "reading stream " + stream() + " (" + filter + ") timed out", null);
          }
          if (!each.test(m)) {
            break;
          }
        }
      } finally {
        try {
          sc.deleteConsumer(cc.getConsumerName());
        } catch (IOException | JetStreamApiException | RuntimeException e) {
          // it expires by its inactive threshold
        }
      }
    } catch (IOException | JetStreamApiException e) {
      throw RelayException.retryable("reading stream " + stream() + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw RelayException.retryable("interrupted while reading stream " + stream(), e);
    } catch (Exception e) {
      if (e instanceof RuntimeException r) {
        throw r;
      }
      throw RelayException.retryable("reading stream " + stream() + " failed: " + e, e);
    }
  }

  /** The stream's last sequence (0 when empty). */
  long lastSeq() {
    try {
      return tail().lastSeq(nats());
    } catch (IOException | JetStreamApiException e) {
      throw RelayException.retryable("reading stream " + stream() + " failed: " + e, e);
    }
  }

  @Override
  public void close() {
    if (nats != null) {
      try {
        nats.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
