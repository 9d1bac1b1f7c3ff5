package io.outboxkit.relay;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.nats.client.JetStreamApiException;
import io.nats.client.impl.Headers;
import io.outboxkit.HeaderValues;
import io.outboxkit.OutboxHeaders;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Redrives one dead letter: publishes its event to the original subject with the original id, then
 * deletes the dead letter. Exactly once: a record of the redrive is written before the publish and
 * completed after it; a second redrive of the same dead letter finds the completed record and
 * publishes nothing, and one after a crash between publish and record looks in the stream for the
 * event from where the first attempt began.
 */
final class Redrive {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final CliSession session;
  private final Republisher publisher;
  private final OutboxRows rows;
  private final String table;

  Redrive(CliSession session, Republisher publisher) {
    this.session = session;
    this.publisher = publisher;
    this.rows = new OutboxRows(session);
    this.table = StateTables.redrives(session.settings);
  }

  /** What happened to one dead letter. */
  record Outcome(long seq, String id, String subject, String outcome, String detail) {
    Map<String, Object> asMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("seq", seq);
      m.put("id", id);
      m.put("subject", subject);
      m.put("outcome", outcome);
      m.put("detail", detail);
      return m;
    }
  }

  Outcome one(DeadLetter d) throws SQLException, IOException, JetStreamApiException {
    String id = d.eventId();
    String key = session.stream() + ":" + d.seq() + ":" + d.ownId();
    try (Connection c = session.db.connect()) {
      Long[] marker = marker(c, key);
      if (marker != null && marker[1] != null) {
        delete(c, key, d);
        return new Outcome(
            d.seq(), id, d.originalSubject(), "already_redriven", "at sequence " + marker[1]);
      }
      OutboundMessage m;
      try {
        m = message(c, d);
      } catch (IllegalStateException e) {
        return new Outcome(d.seq(), id, d.originalSubject(), "failed", e.getMessage());
      }
      if (m.isDeadLetter()) {
        return new Outcome(
            d.seq(),
            id,
            d.originalSubject(),
            "failed",
            "still cannot be published ("
                + m.deadLetterKind()
                + ": "
                + m.deadLetterReason()
                + "): fix the row, then redrive again");
      }
      long fromSeq;
      if (marker == null) {
        fromSeq = session.lastSeq() + 1;
        try (PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO "
                    + table
                    + " (dead_letter, event_id, subject, from_seq) VALUES (?, ?, ?, ?)")) {
          ps.setString(1, key);
          ps.setString(2, id);
          ps.setString(3, m.subject());
          ps.setLong(4, fromSeq);
          ps.executeUpdate();
        }
      } else {
        // An earlier attempt stopped between its publish and its record: did it publish?
        fromSeq = marker[0];
        long found = find(m.subject(), id, fromSeq);
        if (found > 0) {
          complete(c, key, found);
          delete(c, key, d);
          return new Outcome(d.seq(), id, m.subject(), "already_redriven", "at sequence " + found);
        }
      }
      Republisher.Sent sent = publisher.publish(m);
      long seq = sent.ack().getSeqno();
      if (sent.ack().isDuplicate() && seq < fromSeq && !d.byRelay()) {
        // The original is still inside the stream's duplicate window: it would be dropped.
        forget(c, key);
        return new Outcome(
            d.seq(),
            id,
            m.subject(),
            "failed",
            "the stream still remembers id "
                + id
                + " (sequence "
                + seq
                + ") inside its duplicate window, so it would drop the event: redrive again"
                + " once the window has passed");
      }
      complete(c, key, seq);
      delete(c, key, d);
      return new Outcome(
          d.seq(),
          id,
          m.subject(),
          "redriven",
          sent.ack().isDuplicate()
              ? "the stream holds it already, at sequence " + seq
              : "published at sequence " + seq);
    }
  }

  /** The event to publish again, by the relay's rule where the row is at hand. */
  private OutboundMessage message(Connection c, DeadLetter d) throws SQLException {
    String id = d.eventId();
    if (id == null) {
      throw new IllegalStateException("the dead letter names no outbox id: purge it instead");
    }
    if (d.byRelay()) {
      UUID uuid = uuid(id);
      OutboxRows.Row row = uuid == null ? null : rows.find(c, uuid);
      if (row != null) {
        return row.message();
      }
      String size = d.header(OutboxHeaders.PAYLOAD_SIZE);
      if (size == null || Integer.parseInt(size) != d.data().length) {
        throw new IllegalStateException(
            "the row is no longer in the outbox table and the dead letter does not hold its"
                + " payload: nothing to redrive from");
      }
      long commit = parseLong(d.header(OutboxHeaders.COMMIT_TIME));
      return rows.convert(
          id,
          d.header(OutboxHeaders.AGGREGATE_TYPE),
          d.header(OutboxHeaders.AGGREGATE_ID),
          d.header(OutboxHeaders.EVENT_TYPE),
          d.data(),
          rowHeaders(d),
          commit);
    }
    String subject = d.originalSubject();
    if (subject == null) {
      throw new IllegalStateException("the dead letter has no Outbox-Original-Subject");
    }
    Headers h = new Headers();
    for (String name : d.headers().keySet()) {
      // No replay position: the relay reads those of its own messages only, in WAL order.
      if (!DeadLetter.ADDED.contains(name)
          && !name.equals(OutboxHeaders.MSG_ID)
          && !name.equals(OutboxHeaders.REPLAY_LSN)) {
        h.add(name, d.headers().get(name));
      }
    }
    h.put(OutboxHeaders.MSG_ID, id);
    return new OutboundMessage(id, subject, h, d.data(), 0, 0, null, null);
  }

  /** The row's own headers a relay dead letter carries, as the outbox's JSON; null for none. */
  private static String rowHeaders(DeadLetter d) {
    Map<String, String> h = new LinkedHashMap<>();
    for (String name : d.headers().keySet()) {
      if (!OutboxHeaders.isReserved(name)) {
        h.put(name, HeaderValues.decode(d.headers().getFirst(name)));
      }
    }
    try {
      return h.isEmpty() ? null : JSON.writeValueAsString(h);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The first message on {@code subject} from {@code fromSeq} with id {@code id}, or 0. */
  private long find(String subject, String id, long fromSeq) {
    long[] found = {0};
    session.read(
        subject,
        fromSeq,
        null,
        true,
        m -> {
          if (id.equals(
              m.getHeaders() == null ? null : m.getHeaders().getFirst(OutboxHeaders.MSG_ID))) {
            found[0] = m.metaData().streamSequence();
            return false;
          }
          return true;
        });
    return found[0];
  }

  /** {from_seq, published_seq} of an earlier redrive of this dead letter, or null. */
  private Long[] marker(Connection c, String key) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT from_seq, published_seq FROM " + table + " WHERE dead_letter = ?")) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Long[] {rs.getLong(1), (Long) rs.getObject(2)} : null;
      }
    }
  }

  private void complete(Connection c, String key, long seq) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("UPDATE " + table + " SET published_seq = ? WHERE dead_letter = ?")) {
      ps.setLong(1, seq);
      ps.setString(2, key);
      ps.executeUpdate();
    }
  }

  private void forget(Connection c, String key) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("DELETE FROM " + table + " WHERE dead_letter = ?")) {
      ps.setString(1, key);
      ps.executeUpdate();
    }
  }

  /** Deletes the dead letter from the stream and marks the redrive done. */
  private void delete(Connection c, String key, DeadLetter d)
      throws SQLException, IOException, JetStreamApiException {
    try {
      session.jsm().deleteMessage(session.stream(), d.seq());
    } catch (JetStreamApiException e) {
      if (e.getApiErrorCode() != 10037) {
        throw e;
      }
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "UPDATE " + table + " SET done_at = coalesce(done_at, now()) WHERE dead_letter = ?")) {
      ps.setString(1, key);
      ps.executeUpdate();
    }
  }

  private static UUID uuid(String id) {
    try {
      return UUID.fromString(id);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static long parseLong(String v) {
    try {
      return v == null ? 0 : Long.parseLong(v);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
