package io.outboxkit.bench;

/** Whose figure a value is. */
enum Side {
  /** outboxkit's relay, events written as outbox rows (table mode). */
  OUTBOXKIT("outboxkit", "outboxkit table", "table"),
  /** outboxkit's relay, events written as transactional WAL messages (message mode). */
  OUTBOXKIT_MESSAGES("outboxkit_messages", "outboxkit messages", "messages"),
  /** Debezium Server 3.6.1.Final with the Outbox Event Router and its NATS JetStream sink. */
  PEER("peer", "peer", "peer"),
  /** PostgreSQL or JetStream alone. */
  RAW("raw", "raw limit", "raw");

  /** In logs, notes and as the JSON key. */
  final String label;

  /** The table's column heading. */
  final String heading;

  /** In ratio headings ("messages ÷ peer"). */
  final String shortName;

  Side(String label, String heading, String shortName) {
    this.label = label;
    this.heading = heading;
    this.shortName = shortName;
  }

  /** One of outboxkit's modes. */
  boolean outboxkit() {
    return this == OUTBOXKIT || this == OUTBOXKIT_MESSAGES;
  }
}
