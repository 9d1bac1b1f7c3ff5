/**
 * The sample meter service: registers smart meters and records their 15-minute readings. Every
 * write commits its business rows and its outbox events ({@code MeterRegistered}, {@code
 * ReadingRecorded}) in one PostgreSQL transaction; the outboxkit relay publishes them to NATS
 * JetStream. {@link io.outboxkit.sample.meter.MeterApplication} also runs the load simulator.
 */
package io.outboxkit.sample.meter;
