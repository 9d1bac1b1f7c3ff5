package io.outboxkit.sample.billing;

import io.outboxkit.consumer.EventHandler;
import io.outboxkit.consumer.InboundEvent;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.time.ZoneOffset;
import org.jdbi.v3.core.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The grid-load read model: energy per feeder and 15-minute interval, from {@code ReadingRecorded}.
 * Like billing it adds to sums, so it relies on the consumer's exactly-once effect. It writes only
 * {@code feeder_load}, so that a rebuild ({@link Rebuilds}) can apply it to a shadow copy.
 */
@Singleton
final class GridLoadProjection implements EventHandler {
  static final String CONSUMER = "grid-load";
  private static final Logger log = LoggerFactory.getLogger(GridLoadProjection.class);

  @Override
  public void handle(Handle h, InboundEvent event) {
    if (Events.READING_RECORDED.equals(event.eventType())) {
      Events.ReadingRecorded r = event.payloadAs(Events.ReadingRecorded.class);
      Instant start = r.intervalStart();
      h.createUpdate(
              "INSERT INTO feeder_load AS l (feeder_id, interval_start, kwh, readings)"
                  + " VALUES (:feeder, :start, :kwh, 1)"
                  + " ON CONFLICT (feeder_id, interval_start) DO UPDATE SET"
                  + "  kwh = l.kwh + excluded.kwh, readings = l.readings + 1")
          .bind("feeder", r.feederId())
          .bind("start", start.atOffset(ZoneOffset.UTC))
          .bind("kwh", r.kwh())
          .execute();
    } else {
      log.debug("grid-load ignores {} {}", event.eventType(), event.id());
    }
  }
}
