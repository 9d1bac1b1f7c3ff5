package io.outboxkit.relay;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.api.MessageInfo;
import io.outboxkit.OutboxHeaders;
import io.outboxkit.UuidV7;
import io.outboxkit.testing.Ports;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * A last outbox row on a subject of its own, committed after everything a test checks: once it is
 * in the stream, the relay has read past every commit before it (events reach the stream in commit
 * order), so a missing event is lost, not late. Cheaper than reading the whole stream in a loop.
 */
final class Sentinel {
  static final String AGGREGATE_TYPE = "sentinel";
  static final String EVENT_TYPE = "Written";

  private Sentinel() {}

  /** Commits one sentinel row; its id. */
  static String write(DataSource ds) throws SQLException {
    UUID id = UuidV7.next();
    try (java.sql.Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, payload)"
                    + " VALUES (?, ?, ?, ?, '{}'::bytea)")) {
      c.setAutoCommit(true);
      ps.setObject(1, id);
      ps.setString(2, AGGREGATE_TYPE);
      ps.setString(3, AGGREGATE_TYPE);
      ps.setString(4, EVENT_TYPE);
      ps.executeUpdate();
    }
    return id.toString();
  }

  /** The subject sentinels go to under {@link RelayProcess#env}'s subject template. */
  static String subject(String prefix) {
    return prefix + "." + AGGREGATE_TYPE + "." + EVENT_TYPE;
  }

  /** Waits until the last message on the sentinel subject is the sentinel {@code id}. */
  static void await(Connection nc, String stream, String prefix, String id, Duration timeout) {
    Ports.await(
        "sentinel " + id + " in stream " + stream,
        timeout,
        () -> id.equals(lastId(nc, stream, subject(prefix))));
  }

  private static String lastId(Connection nc, String stream, String subject) {
    try {
      MessageInfo m = nc.jetStreamManagement().getLastMessage(stream, subject);
      return m.getHeaders() == null ? null : m.getHeaders().getFirst(OutboxHeaders.MSG_ID);
    } catch (IOException | JetStreamApiException e) {
      return null; // no such message (yet), or the stream is not there yet
    }
  }
}
