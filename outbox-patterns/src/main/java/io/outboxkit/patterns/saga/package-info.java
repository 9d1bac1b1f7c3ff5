/**
 * Sagas: a process across services as local transactions, each committing the saga's state with the
 * events it sends through the outbox; replies consumed with the inbox; durable deadlines that fire
 * a compensation. {@link io.outboxkit.patterns.saga.Saga} is the entry point; its tables come from
 * {@link io.outboxkit.patterns.PatternsSchema#migrateSagas}.
 *
 * <pre>{@code
 * Saga saga = Saga.builder().type("meter-onboarding").jdbi(jdbi).outbox(outbox)
 *     .initialState("PENDING").timeout(Duration.ofSeconds(30))
 *     .on("PENDING", "AccountOpened", ctx -> ctx.moveTo("ACTIVE"))
 *     .onDeadline("PENDING", ctx -> ctx.moveTo("TIMED_OUT"))
 *     .build().start();
 * }</pre>
 */
package io.outboxkit.patterns.saga;
