package io.outboxkit.relay;

import io.outboxkit.NatsSubjects;
import io.outboxkit.OutboxException;
import io.outboxkit.TableName;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.postgresql.PGProperty;

/**
 * The relay's settings, checked and resolved once at start-up: everything the relay reads of its
 * configuration comes from here. Every problem names the setting, its environment variable and the
 * fix.
 */
record RelaySettings(
    RelayConfig.Database database,
    RelayConfig.Nats nats,
    RelayConfig.Stream stream,
    RelayConfig.Publish publish,
    RelayConfig.Engine engine,
    RelayConfig.Standby standby,
    RelayConfig.Tracing tracing,
    boolean createPublication,
    String messagePrefix,
    Duration shutdownTimeout,
    Duration slotCheckInterval,
    boolean exitOnFatal,
    String dbHost,
    int dbPort,
    String dbName,
    String dbUser,
    String dbPassword,
    List<TableName> tables,
    ColumnMap columns,
    TableName offsetsTable,
    String slot,
    String publication,
    SubjectTemplate subjects,
    String deadLetterSubject) {

  private static final String P = "outboxkit.relay.";
  private static final String DEFAULT_TRACES_ENDPOINT = "http://localhost:4318/v1/traces";
  private static final Duration TEN_SECONDS = Duration.ofSeconds(10);
  private static final Pattern SLOT = Pattern.compile("[a-z0-9_]{1,63}");
  private static final Pattern STREAM = Pattern.compile("[A-Za-z0-9_-]{1,255}");
  private static final Set<String> SSL_MODES =
      Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");

  static RelaySettings from(RelayConfig c) {
    RelayConfig.Database db = c.database();
    if (db.name() == null || db.name().isBlank()) {
      throw RelayException.badSetting(
          P + "database.name", "is not set", "name the database that holds the outbox table");
    }
    if (db.port() < 1 || db.port() > 65535) {
      throw RelayException.badSetting(
          P + "database.port", "is " + db.port(), "give a TCP port, 1-65535 (default 5432)");
    }
    if (!SSL_MODES.contains(db.sslMode())) {
      throw RelayException.badSetting(
          P + "database.ssl-mode", "is '" + db.sslMode() + "'", "use one of " + SSL_MODES);
    }
    String password = db.password();
    if (db.passwordFile() != null && !db.passwordFile().isBlank()) {
      if (password != null && !password.isEmpty()) {
        throw RelayException.badSetting(
            P + "database.password-file",
            "is set together with database.password",
            "set only one of them");
      }
      password = readSecret(P + "database.password-file", db.passwordFile());
    }
    if (db.sslRootCert() != null
        && !db.sslRootCert().isBlank()
        && !Files.isReadable(Path.of(db.sslRootCert()))) {
      throw RelayException.badSetting(
          P + "database.ssl-root-cert",
          "names " + db.sslRootCert() + ", which cannot be read",
          "point it at the PEM file of the CA that signed the server's certificate");
    }
    positive(P + "database.connect-timeout", db.connectTimeout());
    positive(P + "database.socket-timeout", db.socketTimeout());
    if (!SLOT.matcher(c.slotName()).matches()) {
      throw RelayException.badSetting(
          P + "slot-name",
          "is '" + c.slotName() + "'",
          "use 1-63 characters of a-z, 0-9 and _ (PostgreSQL slot names)");
    }
    if (!SLOT.matcher(c.publicationName()).matches()) {
      throw RelayException.badSetting(
          P + "publication-name",
          "is '" + c.publicationName() + "'",
          "use 1-63 characters of a-z, 0-9 and _");
    }
    if (c.tables() == null || c.tables().isEmpty()) {
      throw RelayException.badSetting(
          P + "tables", "is empty", "list the outbox tables, e.g. public.outbox");
    }
    List<TableName> tables;
    TableName offsets;
    try {
      tables = c.tables().stream().map(String::trim).map(TableName::parse).toList();
    } catch (OutboxException e) {
      throw RelayException.badSetting(
          P + "tables", "is invalid: " + e.getMessage(), "fix the name");
    }
    try {
      offsets = TableName.parse(c.offsetsTable());
    } catch (OutboxException e) {
      throw RelayException.badSetting(
          P + "offsets-table", "is invalid: " + e.getMessage(), "fix the name");
    }
    ColumnMap columns = c.columns() == null ? ColumnMap.OUTBOXKIT : ColumnMap.of(c.columns());
    SubjectTemplate template;
    try {
      template = SubjectTemplate.parse(c.subjectTemplate());
    } catch (IllegalArgumentException e) {
      throw RelayException.badSetting(
          P + "subject-template",
          "is invalid: " + e.getMessage(),
          "use tokens separated by '.', e.g. outbox.{aggregate_type}.{event_type}");
    }
    String dlq = c.deadLetterSubject();
    if (!NatsSubjects.isValidSubject(dlq, false)) {
      throw RelayException.badSetting(
          P + "dead-letter-subject",
          "is '" + dlq + "'",
          "give a plain NATS subject without wildcards, e.g. outbox-dlq.relay");
    }
    RelayConfig.Stream stream = c.stream();
    if (!STREAM.matcher(stream.name()).matches()) {
      throw RelayException.badSetting(
          P + "stream.name", "is '" + stream.name() + "'", "use letters, digits, - and _");
    }
    if (!Set.of("file", "memory").contains(stream.storage())) {
      throw RelayException.badSetting(
          P + "stream.storage", "is '" + stream.storage() + "'", "use file (default) or memory");
    }
    if (stream.replicas() < 1 || stream.replicas() > 5) {
      throw RelayException.badSetting(
          P + "stream.replicas", "is " + stream.replicas(), "use 1 to 5 (1 or 3 are usual)");
    }
    positive(P + "stream.duplicate-window", stream.duplicateWindow());
    RelayConfig.Publish pub = c.publish();
    if (pub.maxInFlight() < 1 || pub.maxInFlight() > 65536) {
      throw RelayException.badSetting(
          P + "publish.max-in-flight",
          "is " + pub.maxInFlight(),
          "use 1 (strict order under any failure) to 65536; default 4000");
    }
    positive(P + "publish.ack-timeout", pub.ackTimeout());
    positive(P + "publish.retry-backoff", pub.retryBackoff());
    positive(P + "publish.retry-backoff-max", pub.retryBackoffMax());
    RelayConfig.Engine engine = c.engine();
    if (engine.maxBatchSize() < 1) {
      throw RelayException.badSetting(
          P + "engine.max-batch-size", "is " + engine.maxBatchSize(), "use 1 or more");
    }
    if (engine.maxQueueSize() <= engine.maxBatchSize()) {
      throw RelayException.badSetting(
          P + "engine.max-queue-size",
          "is " + engine.maxQueueSize() + ", not above engine.max-batch-size",
          "make it larger than the batch size (Debezium requires it)");
    }
    if (engine.maxQueueBytes() != 0 && engine.maxQueueBytes() < (1L << 20)) {
      throw RelayException.badSetting(
          P + "engine.max-queue-bytes",
          "is " + engine.maxQueueBytes(),
          "use 1048576 (1 MiB) or more, or 0 for no limit; default 16777216 (16 MiB)");
    }
    positive(P + "engine.poll-interval", engine.pollInterval());
    positive(P + "engine.heartbeat-interval", engine.heartbeatInterval());
    positive(P + "engine.restart-backoff", engine.restartBackoff());
    positive(P + "standby.poll-interval", c.standby().pollInterval());
    positive(P + "standby.lease-timeout", c.standby().leaseTimeout());
    if (c.standby().leaseTimeout().compareTo(Duration.ofSeconds(3)) < 0) {
      throw RelayException.badSetting(
          P + "standby.lease-timeout",
          "is " + c.standby().leaseTimeout() + ", below 3s",
          "use 3s or more (default 10s): the active relay renews it every third of it, and a"
              + " database pause longer than that would make it step down");
    }
    if (c.nats().servers() == null || c.nats().servers().isEmpty()) {
      throw RelayException.badSetting(
          P + "nats.servers", "is empty", "give at least one URL, e.g. nats://127.0.0.1:4222");
    }
    readable(P + "nats.credentials-file", c.nats().credentialsFile(), "a readable .creds file");
    readable(P + "nats.nkey-seed-file", c.nats().nkeySeedFile(), "a file holding the NKey seed");
    readable(P + "nats.truststore", c.nats().truststore(), "a JKS or PKCS12 trust store");
    readable(P + "nats.keystore", c.nats().keystore(), "a JKS or PKCS12 key store");
    int auths =
        (set(c.nats().user()) ? 1 : 0)
            + (set(c.nats().token()) ? 1 : 0)
            + (set(c.nats().credentialsFile()) ? 1 : 0)
            + (set(c.nats().nkeySeedFile()) ? 1 : 0);
    if (auths > 1) {
      throw RelayException.badSetting(
          P + "nats.user",
          "is one of several NATS authentications set (user, token, credentials-file,"
              + " nkey-seed-file)",
          "set only the one the server expects");
    }
    RelayConfig.Tracing tracing = tracing(c.tracing());
    return new RelaySettings(
        db,
        c.nats(),
        stream,
        pub,
        engine,
        c.standby(),
        tracing,
        c.createPublication(),
        c.messagePrefix(),
        c.shutdownTimeout(),
        c.slotCheckInterval(),
        c.exitOnFatal(),
        db.host(),
        db.port(),
        db.name(),
        db.user(),
        password == null ? "" : password,
        tables,
        columns,
        offsets,
        c.slotName(),
        c.publicationName(),
        template,
        dlq);
  }

  /** Checked whether tracing is on or not, so that a wrong value shows before it is needed. */
  private static RelayConfig.Tracing tracing(RelayConfig.Tracing t) {
    if (t == null) {
      t = new RelayConfig.Tracing(false, DEFAULT_TRACES_ENDPOINT, "outbox-relay", 1.0, TEN_SECONDS);
    }
    String endpoint = t.endpoint() == null ? "" : t.endpoint().trim();
    URI uri;
    try {
      uri = new URI(endpoint);
    } catch (URISyntaxException e) {
      uri = null;
    }
    if (uri == null
        || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
        || uri.getHost() == null
        || uri.getRawUserInfo() != null) {
      throw RelayException.badSetting(
          P + "tracing.endpoint",
          "is '" + Redact.url(endpoint) + "'",
          "give the OTLP/HTTP traces URL of a collector, e.g."
              + " http://otel-collector:4318/v1/traces (http or https, a host, no user info;"
              + " gRPC on port 4317 is not supported)");
    }
    if (t.serviceName() == null || t.serviceName().isBlank()) {
      throw RelayException.badSetting(
          P + "tracing.service-name", "is empty", "name the service, e.g. outbox-relay");
    }
    if (!(t.sampleRatio() >= 0 && t.sampleRatio() <= 1)) {
      throw RelayException.badSetting(
          P + "tracing.sample-ratio",
          "is " + t.sampleRatio(),
          "give a ratio from 0.0 (only events with a sampled traceparent) to 1.0 (every event)");
    }
    positive(P + "tracing.export-timeout", t.exportTimeout());
    return new RelayConfig.Tracing(
        t.enabled(), endpoint, t.serviceName().trim(), t.sampleRatio(), t.exportTimeout());
  }

  private static boolean set(String s) {
    return s != null && !s.isBlank();
  }

  private static void readable(String property, String file, String what) {
    if (set(file) && !Files.isReadable(Path.of(file))) {
      throw RelayException.badSetting(
          property, "names " + file + ", which cannot be read", "point it at " + what);
    }
  }

  private static void positive(String property, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw RelayException.badSetting(property, "is " + d, "give a positive duration such as 5s");
    }
  }

  private static String readSecret(String property, String file) {
    try {
      return Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw RelayException.badSetting(
          property, "names " + file + ", which cannot be read (" + e + ")", "fix the path");
    }
  }

  /**
   * The JDBC URL: no host, database or parameter in it. Everything is in {@link #jdbcProperties},
   * so no setting (a database name with {@code ?} or {@code &}) can change another.
   */
  static final String JDBC_URL = "jdbc:postgresql://";

  /**
   * Server-side TCP keepalives of every relay session (lock, checkpoints, offsets, and Debezium's
   * replication connection): when the relay's host or network dies, PostgreSQL notices within about
   * 10 + 3 × 5 = 25 s and ends its sessions, which frees the slot and the lock. (pgjdbc's {@code
   * tcpKeepAlive} uses the OS default of two hours on the relay's side.)
   */
  static final String SERVER_KEEPALIVES =
      "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3";

  /** The connection properties of every JDBC connection the relay opens, password included. */
  java.util.Properties jdbcProperties() {
    RelayConfig.Database db = database();
    java.util.Properties p = new java.util.Properties();
    PGProperty.PG_HOST.set(p, dbHost);
    PGProperty.PG_PORT.set(p, dbPort);
    PGProperty.PG_DBNAME.set(p, dbName);
    PGProperty.USER.set(p, dbUser);
    PGProperty.PASSWORD.set(p, dbPassword);
    PGProperty.SSL_MODE.set(p, db.sslMode());
    if (db.sslRootCert() != null && !db.sslRootCert().isBlank()) {
      PGProperty.SSL_ROOT_CERT.set(p, db.sslRootCert());
    }
    PGProperty.APPLICATION_NAME.set(p, "outboxkit-relay");
    PGProperty.TCP_KEEP_ALIVE.set(p, true);
    PGProperty.CONNECT_TIMEOUT.set(p, (int) Math.max(1, db.connectTimeout().toSeconds()));
    PGProperty.SOCKET_TIMEOUT.set(p, (int) Math.max(1, db.socketTimeout().toSeconds()));
    PGProperty.OPTIONS.set(p, SERVER_KEEPALIVES);
    return p;
  }

  /** Never print the password. */
  @Override
  public String toString() {
    return "RelaySettings["
        + dbUser
        + "@"
        + dbHost
        + ":"
        + dbPort
        + "/"
        + dbName
        + ", slot="
        + slot
        + ", tables="
        + tables
        + ", stream="
        + stream().name()
        + "]";
  }
}
