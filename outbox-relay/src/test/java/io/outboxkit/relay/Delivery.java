package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.outboxkit.OutboxHeaders;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The one check every reliability test ends with: the stream holds what committed, once. */
final class Delivery {
  private Delivery() {}

  /**
   * Waits until the stream holds every committed id, then asserts: each committed id exactly once,
   * nothing that never committed, and per aggregate the commit order.
   *
   * @param committed ids in commit order (one writer)
   * @param uncertain ids whose commit is unknown: allowed once, not required
   */
  static List<StreamContents.Stored> assertExactlyOnce(
      Connection nc,
      String stream,
      List<String> committed,
      Set<String> uncertain,
      Duration timeout) {
    StreamContents.awaitCount(nc, stream, committed.size(), timeout);
    List<StreamContents.Stored> stored = StreamContents.readAll(nc, stream);
    assertThat(StreamContents.duplicates(stored)).as("ids stored twice").isEmpty();
    Set<String> ids = new HashSet<>();
    stored.forEach(s -> ids.add(s.msgId()));
    assertThat(ids).as("committed ids in the stream").containsAll(committed);
    Set<String> allowed = new HashSet<>(committed);
    allowed.addAll(uncertain);
    assertThat(allowed).as("stream ids that never committed").containsAll(ids);

    Map<String, String> aggregateOf = new HashMap<>();
    stored.forEach(s -> aggregateOf.put(s.msgId(), s.header(OutboxHeaders.AGGREGATE_ID)));
    Map<String, List<String>> expected = new LinkedHashMap<>();
    for (String id : committed) {
      expected.computeIfAbsent(aggregateOf.get(id), k -> new ArrayList<>()).add(id);
    }
    Map<String, List<String>> actual = StreamContents.byAggregate(stored);
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      List<String> inStream = new ArrayList<>(actual.get(e.getKey()));
      inStream.retainAll(new HashSet<>(e.getValue()));
      assertThat(inStream).as("stream order of aggregate " + e.getKey()).isEqualTo(e.getValue());
    }
    return stored;
  }
}
