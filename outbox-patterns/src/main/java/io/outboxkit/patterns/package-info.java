/**
 * The consistency patterns beside the event flow, built on outbox-core: {@link
 * io.outboxkit.patterns.reconcile.Reconciler background sync that repairs}. {@link PatternsSchema}
 * creates their tables.
 */
package io.outboxkit.patterns;
