/**
 * The consistency patterns beside the event flow, built on outbox-core: {@link
 * io.outboxkit.patterns.reconcile.Reconciler background sync that repairs}, {@link
 * io.outboxkit.patterns.saga.Saga sagas with compensation and durable timeouts} and {@link
 * io.outboxkit.patterns.rebuild.Rebuilder rebuilding a read model while it serves} (CQRS). {@link
 * PatternsSchema} creates their tables.
 */
package io.outboxkit.patterns;
