package io.outboxkit.bench;

/** Whose figure a value is. */
enum Side {
  /** outboxkit's relay. */
  OUTBOXKIT("outboxkit"),
  /** Debezium Server 3.6.1.Final with the Outbox Event Router and its NATS JetStream sink. */
  PEER("peer"),
  /** PostgreSQL or JetStream alone. */
  RAW("raw");

  final String label;

  Side(String label) {
    this.label = label;
  }
}
