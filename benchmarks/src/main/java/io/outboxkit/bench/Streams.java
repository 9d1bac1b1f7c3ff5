package io.outboxkit.bench;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** NATS connections and JetStream streams of the harness. */
final class Streams {
  private Streams() {}

  /** A connection to the NATS server; fails with the fix when it cannot connect. */
  static Connection connect(String url, String name) {
    try {
      return Nats.connect(
          new Options.Builder()
              .server(url)
              .connectionName("outboxkit-bench-" + name)
              .connectionTimeout(Duration.ofSeconds(5))
              .maxMessagesInOutgoingQueue(100_000)
              .errorListener(new io.nats.client.ErrorListener() {})
              .build());
    } catch (IOException e) {
      throw new BenchException(
          "cannot connect to NATS at " + url + " (" + e.getMessage() + "): give --nats URL", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted while connecting to NATS", e);
    }
  }

  /** Checks that JetStream answers on the connection; returns the server's version. */
  static String check(Connection nc) {
    try {
      nc.jetStreamManagement().getAccountStatistics();
      return nc.getServerInfo().getVersion();
    } catch (IOException | JetStreamApiException e) {
      throw new BenchException(
          "JetStream does not answer at "
              + nc.getConnectedUrl()
              + " ("
              + e.getMessage()
              + "): start nats-server with -js",
          e);
    }
  }

  /** A file-storage stream as the relay makes it (R1, 2 min duplicate window). */
  static void create(JetStreamManagement jsm, String name, String subjects) {
    try {
      jsm.addStream(
          StreamConfiguration.builder()
              .name(name)
              .subjects(subjects)
              .storageType(StorageType.File)
              .replicas(1)
              .duplicateWindow(Duration.ofMinutes(2))
              .build());
    } catch (IOException | JetStreamApiException e) {
      throw new BenchException("cannot create stream " + name + ": " + e.getMessage(), e);
    }
  }

  /** Deletes the stream; a missing stream is fine. */
  static void delete(JetStreamManagement jsm, String name) {
    try {
      jsm.deleteStream(name);
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() != 10059) {
        throw new BenchException("cannot delete stream " + name + ": " + e.getMessage(), e);
      }
    } catch (IOException e) {
      throw new BenchException("cannot delete stream " + name + ": " + e.getMessage(), e);
    }
  }

  static List<String> names(JetStreamManagement jsm) {
    try {
      return new ArrayList<>(jsm.getStreamNames());
    } catch (IOException | JetStreamApiException e) {
      throw new BenchException("cannot list streams: " + e.getMessage(), e);
    }
  }

  static StreamInfo info(JetStreamManagement jsm, String name) {
    try {
      return jsm.getStreamInfo(name);
    } catch (IOException | JetStreamApiException e) {
      throw new BenchException("stream info of " + name + ": " + e.getMessage(), e);
    }
  }
}
