package io.outboxkit.patterns.reconcile;

/**
 * What a reconciler reports. The no-op default keeps Micrometer (an optional dependency) off the
 * class path; {@link MicrometerReconcileMetrics} is loaded only when a registry is given.
 */
interface ReconcileMetrics {

  ReconcileMetrics NOOP =
      new ReconcileMetrics() {
        @Override
        public void drifts(int found, int repaired, int failed) {}

        @Override
        public void run(boolean failed, long nanos) {}
      };

  /** Drifts found, repaired and failed in one transaction or window. */
  void drifts(int found, int repaired, int failed);

  /** One run ended; {@code failed} when a window could not be compared. */
  void run(boolean failed, long nanos);
}
