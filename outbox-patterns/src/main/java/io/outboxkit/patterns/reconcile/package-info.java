/**
 * Background sync that repairs: a {@link io.outboxkit.patterns.reconcile.Reconciler} compares, on a
 * schedule and for closed time windows, a source of truth with a derived store key by key, records
 * every drift and repairs it. The application supplies the comparison as a {@link
 * io.outboxkit.patterns.reconcile.Reconciliation}.
 */
package io.outboxkit.patterns.reconcile;
