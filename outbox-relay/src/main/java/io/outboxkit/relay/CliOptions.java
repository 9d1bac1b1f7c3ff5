package io.outboxkit.relay;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Options every command takes: where the relay's deployment is (its settings, from the same {@code
 * OUTBOXKIT_RELAY_*} environment variables as the relay, overridden by options) and how to print.
 */
final class CliOptions {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  @Spec(Spec.Target.MIXEE)
  picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--json", description = "Print JSON for scripts instead of text for people.")
  boolean json;

  @Option(
      names = "--db-host",
      description = "Database host (env OUTBOXKIT_RELAY_DATABASE_HOST).",
      paramLabel = "HOST")
  String dbHost;

  @Option(
      names = "--db-port",
      description = "Database port (env OUTBOXKIT_RELAY_DATABASE_PORT).",
      paramLabel = "PORT")
  Integer dbPort;

  @Option(
      names = "--db-name",
      description = "Database holding the outbox (env OUTBOXKIT_RELAY_DATABASE_NAME).",
      paramLabel = "NAME")
  String dbName;

  @Option(
      names = "--db-user",
      description = "Database user (env OUTBOXKIT_RELAY_DATABASE_USER).",
      paramLabel = "USER")
  String dbUser;

  @Option(
      names = "--db-password-file",
      description = "File holding the password (env OUTBOXKIT_RELAY_DATABASE_PASSWORD_FILE).",
      paramLabel = "FILE")
  String dbPasswordFile;

  @Option(
      names = "--nats",
      description = "NATS URLs, comma-separated (env OUTBOXKIT_RELAY_NATS_SERVERS).",
      paramLabel = "URLS")
  String nats;

  @Option(
      names = "--stream",
      description = "JetStream stream (env OUTBOXKIT_RELAY_STREAM_NAME).",
      paramLabel = "NAME")
  String stream;

  @Option(
      names = "--slot",
      description = "Replication slot (env OUTBOXKIT_RELAY_SLOT_NAME).",
      paramLabel = "NAME")
  String slot;

  @Option(
      names = "--set",
      description =
          "Any relay setting under outboxkit.relay, e.g. --set offsets-table=ops.relay_offsets"
              + " or --set subject-template=outbox.{aggregate_type}.{event_type}.",
      paramLabel = "KEY=VALUE")
  Map<String, String> set = new LinkedHashMap<>();

  /** The relay's settings, checked by the relay's own rules. */
  RelaySettings settings() {
    Map<String, Object> p = new LinkedHashMap<>();
    put(p, "database.host", dbHost);
    put(p, "database.port", dbPort);
    put(p, "database.name", dbName);
    put(p, "database.user", dbUser);
    put(p, "database.password-file", dbPasswordFile);
    put(p, "nats.servers", nats);
    put(p, "stream.name", stream);
    put(p, "slot-name", slot);
    set.forEach((k, v) -> put(p, k.startsWith("outboxkit.relay.") ? k.substring(16) : k, v));
    return RelaySettings.from(SettingsBinder.bind(p));
  }

  private static void put(Map<String, Object> p, String key, Object value) {
    if (value != null) {
      p.put("outboxkit.relay." + key, value);
    }
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** Prints {@code result} as JSON when asked; returns whether it did. */
  boolean printJson(Object result) {
    if (!json) {
      return false;
    }
    try {
      out().println(JSON.writeValueAsString(result));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
    out().flush();
    return true;
  }
}
