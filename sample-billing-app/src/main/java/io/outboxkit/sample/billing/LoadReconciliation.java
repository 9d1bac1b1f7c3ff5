package io.outboxkit.sample.billing;

import io.outboxkit.patterns.reconcile.Reconciliation;
import io.outboxkit.patterns.reconcile.Window;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;

/**
 * The grid-load read model against the meter service's readings: per feeder and 15-minute interval,
 * the energy and reading count.
 */
final class LoadReconciliation implements Reconciliation<LoadReconciliation.Load> {
  static final String NAME = "grid-load";
  private static final String SEP = "|"; // not allowed in feeder ids

  /** One row of {@code feeder_load}. */
  record Load(BigDecimal kwh, long readings) {
    Load {
      kwh = kwh.setScale(3, RoundingMode.UNNECESSARY);
    }

    static Load sum(Load a, Load b) {
      return new Load(a.kwh.add(b.kwh), a.readings + b.readings);
    }
  }

  private final MeterClient meters;
  private final ConsumerIdle idle;

  LoadReconciliation(MeterClient meters, ConsumerIdle idle) {
    this.meters = meters;
    this.idle = idle;
  }

  @Override
  public Map<String, Load> expected(Window window) {
    Map<String, Load> map = new HashMap<>();
    List<MeterClient.Usage> readings = meters.readings(window.start(), window.end());
    idle.require(GridLoadProjection.CONSUMER);
    for (MeterClient.Usage u : readings) {
      map.merge(key(u.feederId(), u.intervalStart()), new Load(u.kwh(), 1), Load::sum);
    }
    return map;
  }

  @Override
  public Map<String, Load> actual(Handle h, Window window) {
    Map<String, Load> map = new HashMap<>();
    h.createQuery(
            "SELECT feeder_id, interval_start, kwh, readings FROM feeder_load"
                + " WHERE interval_start >= :from AND interval_start < :to")
        .bind("from", window.start().atOffset(ZoneOffset.UTC))
        .bind("to", window.end().atOffset(ZoneOffset.UTC))
        .map(
            (rs, ctx) ->
                Map.entry(
                    key(rs.getString(1), rs.getObject(2, OffsetDateTime.class).toInstant()),
                    new Load(rs.getBigDecimal(3), rs.getLong(4))))
        .forEach(e -> map.put(e.getKey(), e.getValue()));
    return map;
  }

  @Override
  public void repair(Handle h, Window window, String key, Load expected) {
    int sep = key.lastIndexOf(SEP);
    String feeder = key.substring(0, sep);
    OffsetDateTime start = Instant.parse(key.substring(sep + 1)).atOffset(ZoneOffset.UTC);
    if (expected == null) {
      h.execute(
          "DELETE FROM feeder_load WHERE feeder_id = ? AND interval_start = ?", feeder, start);
      return;
    }
    h.execute(
        "INSERT INTO feeder_load (feeder_id, interval_start, kwh, readings) VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (feeder_id, interval_start) DO UPDATE SET kwh = excluded.kwh,"
            + " readings = excluded.readings",
        feeder,
        start,
        expected.kwh(),
        expected.readings());
  }

  static String key(String feeder, Instant intervalStart) {
    return feeder + SEP + intervalStart;
  }
}
