package io.outboxkit.sample.billing;

import jakarta.inject.Singleton;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.jdbi.v3.core.Jdbi;

/** The tariffs of the {@code tariff} table, read once at start-up (reference data). */
@Singleton
final class Tariffs {
  private final Map<String, Tariff> byCode;

  Tariffs(Jdbi jdbi) {
    Map<String, Tariff> tariffs = new HashMap<>();
    jdbi.useHandle(
        h ->
            h.createQuery(
                    "SELECT code, zone, peak_from_hour, peak_to_hour, peak_price, off_peak_price,"
                        + " currency FROM tariff")
                .map(
                    (rs, ctx) ->
                        new Tariff(
                            rs.getString(1),
                            ZoneId.of(rs.getString(2)),
                            rs.getInt(3),
                            rs.getInt(4),
                            rs.getBigDecimal(5),
                            rs.getBigDecimal(6),
                            rs.getString(7)))
                .forEach(t -> tariffs.put(t.code(), t)));
    this.byCode = Map.copyOf(tariffs);
  }

  Map<String, Tariff> all() {
    return byCode;
  }

  /** The tariff; an event naming an unknown one fails (and, retried in vain, is dead-lettered). */
  Tariff get(String code) {
    Tariff t = byCode.get(code);
    if (t == null) {
      throw new IllegalStateException(
          "tariff '"
              + code
              + "' is unknown: add it to the tariff table; known: "
              + byCode.keySet());
    }
    return t;
  }

  /** The zone all tariffs share, or null when they differ. */
  String commonZone() {
    Set<String> zones = new TreeSet<>();
    byCode.values().forEach(t -> zones.add(t.zone().getId()));
    return zones.size() == 1 ? zones.iterator().next() : null;
  }
}
