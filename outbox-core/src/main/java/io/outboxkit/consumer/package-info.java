/**
 * The consume side of outboxkit: apply each outbox event from NATS JetStream exactly once in
 * effect.
 *
 * <p>{@link io.outboxkit.consumer.OutboxConsumer} pulls from a durable JetStream consumer and, for
 * each message, records its id in an inbox table and calls your {@link
 * io.outboxkit.consumer.EventHandler} in the same database transaction, then acknowledges the
 * message. Redeliveries find their id in the inbox and change nothing; failures are retried with
 * backoff and finally dead-lettered; several instances share the work safely.
 *
 * <pre>{@code
 * OutboxSchema.migrateInbox(dataSource, TableName.DEFAULT_INBOX);
 *
 * try (OutboxConsumer consumer =
 *     OutboxConsumer.builder()
 *         .name("grid-load")
 *         .connection(nats)
 *         .jdbi(jdbi)
 *         .stream("OUTBOX")
 *         .handler((handle, event) ->
 *             handle.execute(
 *                 "UPDATE grid_load SET kwh = kwh + ? WHERE meter_id = ?",
 *                 event.payloadAs(ReadingRecorded.class).kwh(), event.aggregateId()))
 *         .build()
 *         .start()) {
 *   awaitShutdown();
 * }
 * }</pre>
 *
 * <p>Messages are expected as the outboxkit relay publishes them: header {@code Nats-Msg-Id} = the
 * outbox id, plus the {@code Outbox-*} headers listed in {@link io.outboxkit.OutboxHeaders}.
 */
package io.outboxkit.consumer;
