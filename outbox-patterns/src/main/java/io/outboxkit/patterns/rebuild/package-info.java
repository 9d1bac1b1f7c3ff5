/**
 * CQRS: rebuild a read model from the JetStream stream while the live one serves. A {@link
 * io.outboxkit.patterns.rebuild.Rebuilder} applies the stream into shadow tables with the model's
 * own handler, catches up with the live consumer and swaps the tables in one transaction; {@link
 * io.outboxkit.patterns.rebuild.RebuildProgress} shows where it stands.
 */
package io.outboxkit.patterns.rebuild;
