/**
 * The shared test fixture: {@link io.outboxkit.testing.TestInfra} gives every integration test a
 * real PostgreSQL and a real NATS JetStream; {@link io.outboxkit.testing.NatsProcess} and {@link
 * io.outboxkit.testing.PostgresProcess} are private servers a test may kill; {@link
 * io.outboxkit.testing.NatsOperator} puts a private NATS server into operator (JWT) mode and writes
 * {@code .creds} files; {@link io.outboxkit.testing.JarProcess} runs a module's jar (the relay, a
 * sample app) as a process a test may kill; {@link io.outboxkit.testing.Command} runs a
 * command-line tool ({@code promtool}, {@code psql}) to completion; {@link
 * io.outboxkit.testing.ContainerImage} runs a Jib-built image from its tar without Docker.
 */
package io.outboxkit.testing;
