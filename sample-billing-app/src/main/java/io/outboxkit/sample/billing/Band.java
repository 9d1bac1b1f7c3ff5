package io.outboxkit.sample.billing;

/** A time-of-use band: which of a tariff's two prices applies. */
enum Band {
  PEAK,
  OFF_PEAK
}
