-- outboxkit inbox: one row per (consumer, message id) applied. ${schema}/${table} set by OutboxSchema.migrateInbox.
CREATE TABLE ${schema}.${table} (
  consumer     text        NOT NULL,
  message_id   text        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);

CREATE INDEX ${table}_processed_at_brin ON ${schema}.${table} USING brin (processed_at);

COMMENT ON TABLE ${schema}.${table} IS
  'outboxkit inbox: the consumer inserts (consumer, message_id) in the transaction of its effect; a conflict means the message was applied before';
