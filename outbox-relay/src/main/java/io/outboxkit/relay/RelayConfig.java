package io.outboxkit.relay;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import java.time.Duration;
import java.util.List;

/**
 * Every setting of the relay, under {@code outboxkit.relay} in {@code application.yml}, or as
 * environment variables ({@code outboxkit.relay.database.host} is {@code
 * OUTBOXKIT_RELAY_DATABASE_HOST}). The README's settings table lists them with their defaults;
 * {@link RelaySettings} checks them at start-up.
 */
@ConfigurationProperties("outboxkit.relay")
record RelayConfig(
    Database database,
    Nats nats,
    Stream stream,
    Publish publish,
    Engine engine,
    Standby standby,
    Tracing tracing,
    Columns columns,
    @Bindable(defaultValue = "public.outbox") List<String> tables,
    @Bindable(defaultValue = "outboxkit") String slotName,
    @Bindable(defaultValue = "outboxkit") String publicationName,
    @Bindable(defaultValue = "true") boolean createPublication,
    @Bindable(defaultValue = "outbox.{aggregate_type}.{event_type}") String subjectTemplate,
    @Bindable(defaultValue = "outbox-dlq.relay") String deadLetterSubject,
    @Bindable(defaultValue = "outboxkit-events") String messagePrefix,
    @Bindable(defaultValue = "outboxkit.relay_offsets") String offsetsTable,
    @Bindable(defaultValue = "30s") Duration shutdownTimeout,
    @Bindable(defaultValue = "10s") Duration slotCheckInterval,
    @Bindable(defaultValue = "true") boolean exitOnFatal,
    @Bindable(defaultValue = "true") boolean statusPage) {

  /** The source database. */
  @ConfigurationProperties("database")
  record Database(
      @Bindable(defaultValue = "localhost") String host,
      @Bindable(defaultValue = "5432") int port,
      @Nullable String name,
      @Bindable(defaultValue = "postgres") String user,
      @Nullable String password,
      @Nullable String passwordFile,
      @Bindable(defaultValue = "prefer") String sslMode,
      @Nullable String sslRootCert,
      @Bindable(defaultValue = "10s") Duration connectTimeout,
      @Bindable(defaultValue = "60s") Duration socketTimeout) {

    /** Never the password. */
    @Override
    public String toString() {
      return "Database["
          + user
          + "@"
          + host
          + ":"
          + port
          + "/"
          + name
          + ", sslmode="
          + sslMode
          + "]";
    }
  }

  /** The NATS connection. */
  @ConfigurationProperties("nats")
  record Nats(
      @Bindable(defaultValue = "nats://127.0.0.1:4222") List<String> servers,
      @Nullable String user,
      @Nullable String password,
      @Nullable String token,
      @Nullable String credentialsFile,
      @Bindable(defaultValue = "false") boolean tls,
      @Nullable String truststore,
      @Nullable String truststorePassword,
      @Nullable String keystore,
      @Nullable String keystorePassword,
      @Nullable String nkeySeedFile,
      @Bindable(defaultValue = "5s") Duration connectTimeout) {

    /** Never a password, token or key: servers with user info redacted, and which auth is set. */
    @Override
    public String toString() {
      return "Nats["
          + Redact.urls(servers)
          + (user != null ? ", user=" + user : "")
          + (token != null ? ", token=***" : "")
          + (credentialsFile != null ? ", credentials-file=" + credentialsFile : "")
          + (nkeySeedFile != null ? ", nkey-seed-file=" + nkeySeedFile : "")
          + (tls ? ", tls" : "")
          + "]";
    }
  }

  /** Never a secret: the nested records redact their own. */
  @Override
  public String toString() {
    return "RelayConfig["
        + database
        + ", "
        + nats
        + ", stream="
        + stream
        + ", tables="
        + tables
        + ", slot="
        + slotName
        + ", publication="
        + publicationName
        + "]";
  }

  /** The JetStream stream the relay publishes to. */
  @ConfigurationProperties("stream")
  record Stream(
      @Bindable(defaultValue = "OUTBOX") String name,
      @Bindable(defaultValue = "outbox.>,outbox-dlq.>") List<String> subjects,
      @Bindable(defaultValue = "file") String storage,
      @Bindable(defaultValue = "1") int replicas,
      @Bindable(defaultValue = "2m") Duration duplicateWindow,
      @Bindable(defaultValue = "true") boolean create) {}

  /** Publishing to JetStream. */
  @ConfigurationProperties("publish")
  record Publish(
      @Bindable(defaultValue = "4000") int maxInFlight,
      @Bindable(defaultValue = "5s") Duration ackTimeout,
      @Bindable(defaultValue = "100ms") Duration retryBackoff,
      @Bindable(defaultValue = "5s") Duration retryBackoffMax) {}

  /** The embedded Debezium engine. */
  @ConfigurationProperties("engine")
  record Engine(
      @Bindable(defaultValue = "2048") int maxBatchSize,
      @Bindable(defaultValue = "8192") int maxQueueSize,
      @Bindable(defaultValue = "16777216") long maxQueueBytes,
      @Bindable(defaultValue = "5ms") Duration pollInterval,
      @Bindable(defaultValue = "1s") Duration heartbeatInterval,
      @Bindable(defaultValue = "1s") Duration restartBackoff,
      @Bindable(defaultValue = "30s") Duration restartBackoffMax) {}

  /**
   * OpenTelemetry tracing of publishes, exported by OTLP over HTTP (protobuf). Off by default.
   *
   * @param enabled a {@code publish} span per event, continuing the row's {@code traceparent}
   * @param endpoint the OTLP/HTTP traces endpoint of a collector, e.g. {@code
   *     http://otel-collector:4318/v1/traces}
   * @param serviceName the {@code service.name} of the relay's spans
   * @param sampleRatio the share of events without a sampled {@code traceparent} that are traced
   *     (new traces); a row's sampled trace context is always followed
   * @param exportTimeout the most one export to the collector may take
   */
  @ConfigurationProperties("tracing")
  record Tracing(
      @Bindable(defaultValue = "false") boolean enabled,
      @Bindable(defaultValue = "http://localhost:4318/v1/traces") String endpoint,
      @Bindable(defaultValue = "outbox-relay") String serviceName,
      @Bindable(defaultValue = "1.0") double sampleRatio,
      @Bindable(defaultValue = "10s") Duration exportTimeout) {}

  /**
   * Which columns of the outbox tables the relay reads ({@link ColumnMap}): a preset, then any
   * column named on its own.
   */
  @ConfigurationProperties("columns")
  record Columns(
      @Bindable(defaultValue = "outboxkit") String preset,
      @Nullable String id,
      @Nullable String aggregateType,
      @Nullable String aggregateId,
      @Nullable String eventType,
      @Nullable String payload,
      @Nullable String headers,
      @Nullable String createdAt) {}

  /**
   * Active/standby election between relays on one slot: the active relay's lock session is a lease
   * of {@code leaseTimeout} that PostgreSQL ends when the relay goes silent ({@link Leadership}).
   */
  @ConfigurationProperties("standby")
  record Standby(
      @Bindable(defaultValue = "1s") Duration pollInterval,
      @Bindable(defaultValue = "10s") Duration leaseTimeout) {}
}
