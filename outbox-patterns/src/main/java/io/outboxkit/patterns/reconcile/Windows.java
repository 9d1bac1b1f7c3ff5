package io.outboxkit.patterns.reconcile;

import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

/**
 * How time is cut into windows: fixed lengths aligned to the epoch (a day is a UTC day), or
 * calendar months in a zone. A window is closed once its end lies {@code settle} in the past; a run
 * looks at the closed windows that end within {@code lookback} of now, oldest first.
 */
record Windows(Duration length, ZoneId monthZone, Duration settle, Duration lookback) {

  static Windows fixed(Duration length, Duration settle, Duration lookback) {
    return new Windows(length, null, settle, lookback);
  }

  static Windows months(ZoneId zone, Duration settle, Duration lookback) {
    return new Windows(null, zone, settle, lookback);
  }

  List<Window> closed(Instant now) {
    Instant closedBefore = now.minus(settle);
    Instant from = now.minus(lookback);
    List<Window> list = new ArrayList<>();
    if (monthZone != null) {
      YearMonth month = YearMonth.from(from.atZone(monthZone));
      while (true) {
        Instant start = month.atDay(1).atStartOfDay(monthZone).toInstant();
        Instant end = month.plusMonths(1).atDay(1).atStartOfDay(monthZone).toInstant();
        if (end.isAfter(closedBefore)) {
          break;
        }
        if (end.isAfter(from)) {
          list.add(new Window(start, end));
        }
        month = month.plusMonths(1);
      }
      return list;
    }
    long size = length.toMillis();
    long start = Math.floorDiv(from.toEpochMilli(), size) * size;
    while (true) {
      Instant s = Instant.ofEpochMilli(start);
      Instant e = Instant.ofEpochMilli(start + size);
      if (e.isAfter(closedBefore)) {
        break;
      }
      if (e.isAfter(from)) {
        list.add(new Window(s, e));
      }
      start += size;
    }
    return list;
  }

  @Override
  public String toString() {
    return (monthZone != null ? "calendar months in " + monthZone : "windows of " + length)
        + ", closed "
        + settle
        + " after their end, looking back "
        + lookback;
  }
}
