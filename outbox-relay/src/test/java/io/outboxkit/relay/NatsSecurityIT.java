package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.nats.client.Connection;
import io.nats.client.NKey;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.NatsOperator;
import io.outboxkit.testing.NatsProcess;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestCerts;
import io.outboxkit.testing.TestInfra;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every NATS authentication and TLS path the relay offers, each against a nats-server configured
 * for it; refused credentials stop the relay naming the setting; the README's permission block is
 * enough; and no secret shows up anywhere the relay prints.
 */
class NatsSecurityIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static TestCerts certs;
  static int run;

  @BeforeAll
  static void setUp() {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    certs = infra.closeAfterClass(TestCerts.create("relay"));
  }

  private static Map<String, String> env(NatsProcess nats) {
    run++;
    String prefix = infra.prefix() + "n" + run;
    return RelayProcess.env(
        infra.pgHost(),
        infra.pgPort(),
        infra.database(),
        infra.pgUser(),
        infra.pgPassword(),
        nats.url(),
        infra.streamName() + "_N" + run,
        prefix);
  }

  private static String tlsConfig(TestCerts c, boolean verifyClients) {
    return "tls {\n  cert_file: \""
        + c.serverCertPem()
        + "\"\n  key_file: \""
        + c.serverKeyPem()
        + "\"\n  ca_file: \""
        + c.caPem()
        + "\"\n"
        + (verifyClients ? "  verify: true\n" : "")
        + "  timeout: 5\n}";
  }

  private static void tls(Map<String, String> env, TestCerts c, boolean clientCert) {
    env.put("OUTBOXKIT_RELAY_NATS_TLS", "true");
    env.put("OUTBOXKIT_RELAY_NATS_TRUSTSTORE", c.truststore().toString());
    env.put("OUTBOXKIT_RELAY_NATS_TRUSTSTORE_PASSWORD", c.password());
    if (clientCert) {
      env.put("OUTBOXKIT_RELAY_NATS_KEYSTORE", c.keystore().toString());
      env.put("OUTBOXKIT_RELAY_NATS_KEYSTORE_PASSWORD", c.password());
    }
  }

  /** A connection to check the stream: as {@code admin}, over TLS when {@code c} is given. */
  private static Connection admin(NatsProcess nats, TestCerts c, boolean auth) throws Exception {
    Options.Builder b =
        new Options.Builder().server(nats.url()).connectionTimeout(Duration.ofSeconds(5));
    if (auth) {
      b.userInfo("admin", "admin-pw");
    }
    if (c != null) {
      b.truststorePath(c.truststore().toString())
          .truststorePassword(c.password().toCharArray())
          .keystorePath(c.keystore().toString())
          .keystorePassword(c.password().toCharArray());
    }
    return Nats.connect(b.build());
  }

  private static void insert(int n) {
    infra
        .jdbi()
        .useHandle(
            h -> {
              for (int i = 0; i < n; i++) {
                h.execute(
                    "INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type,"
                        + " payload) VALUES (gen_random_uuid(), 'Zähler', 'm-1', 'Gelesen',"
                        + " convert_to('{\"kWh\": 1}', 'UTF8'))");
              }
            });
  }

  /** Starts the relay, writes two events, and checks they reach the stream. */
  private static RelayProcess streams(Map<String, String> env, Connection admin) {
    RelayProcess relay = new RelayProcess(env).start();
    try {
      relay.awaitStreaming(Duration.ofSeconds(90));
      insert(2);
      StreamContents.awaitCount(
          admin, env.get("OUTBOXKIT_RELAY_STREAM_NAME"), 2, Duration.ofSeconds(60));
      assertThat(relay.log()).doesNotContain("Permissions Violation").doesNotContain("ERROR");
      return relay;
    } catch (RuntimeException | Error e) {
      relay.close();
      throw e;
    }
  }

  private static String refused(Map<String, String> env) {
    try (RelayProcess relay = new RelayProcess(env).start()) {
      int exit = relay.waitExit(Duration.ofSeconds(90));
      assertThat(exit).as("exit status; log:\n" + relay.logTail()).isEqualTo(2);
      return relay.log();
    }
  }

  /** The README's permission block for this run's stream and subjects. */
  private static String readmePermissions(Map<String, String> env) throws Exception {
    Path readme = LeastPrivilegeIT.sqlFile("../../README.md").normalize();
    String text = Files.readString(readme);
    String section =
        text.substring(
            text.indexOf("<!-- nats-permissions:start -->"),
            text.indexOf("<!-- nats-permissions:end -->"));
    String block = section.substring(section.indexOf("```\n") + 4, section.lastIndexOf("```"));
    String prefix = env.get("OUTBOXKIT_RELAY_SLOT_NAME").replace("_slot", "");
    return block
        .replace("\"outbox.>\"", "\"" + prefix + ".>\"")
        .replace("\"outbox-dlq.relay\"", "\"" + prefix + "-dlq.relay\"")
        .replace(".OUTBOX", "." + env.get("OUTBOXKIT_RELAY_STREAM_NAME"));
  }

  @Test
  void userAndPasswordUnderTheReadmePermissionBlock() throws Exception {
    NatsProcess probe = infra.privateNats();
    probe.stop();
    Map<String, String> env = env(probe);
    String config =
        "authorization {\n  users = [\n    { user: \"relay\", password: \"relay-pw\", "
            + readmePermissions(env)
            + " }\n    { user: \"admin\", password: \"admin-pw\" }\n  ]\n}";
    NatsProcess nats = infra.privateNats(NatsProcess.options().withConfig(config));
    env.put("OUTBOXKIT_RELAY_NATS_SERVERS", nats.url());
    env.put("OUTBOXKIT_RELAY_NATS_USER", "relay");
    env.put("OUTBOXKIT_RELAY_NATS_PASSWORD", "relay-pw");
    try (Connection admin = admin(nats, null, true);
        RelayProcess relay = streams(env, admin)) {
      // A restart finds the stream and reads its end (the consumer API) under the same block.
      relay.stop();
      try (RelayProcess again = streams(env, admin)) {
        insert(1);
        StreamContents.awaitCount(
            admin, env.get("OUTBOXKIT_RELAY_STREAM_NAME"), 5, Duration.ofSeconds(60));
      }
    }
    // The block allows nothing else: the relay's user cannot publish elsewhere.
    try (Connection relayUser =
        Nats.connect(
            new Options.Builder().server(nats.url()).userInfo("relay", "relay-pw").build())) {
      io.nats.client.JetStream js = relayUser.jetStream();
      org.assertj.core.api.Assertions.assertThatThrownBy(
              () -> js.publish("elsewhere.x", new byte[] {1}))
          .isNotNull();
    }
    env.put("OUTBOXKIT_RELAY_NATS_PASSWORD", "wrong-pw-91c2");
    assertThat(refused(env))
        .contains("setting outboxkit.relay.nats.password (env OUTBOXKIT_RELAY_NATS_PASSWORD)")
        .contains("refused by the NATS server")
        .doesNotContain("wrong-pw-91c2");
  }

  /** The subjects a README block's {@code publish} or {@code subscribe} part allows. */
  private static List<String> allowed(String block, String part) {
    int start = block.indexOf(part + ": {");
    String section = block.substring(start, block.indexOf(']', start));
    List<String> subjects = new java.util.ArrayList<>();
    Matcher m = Pattern.compile("\"([^\"]+)\"").matcher(section);
    while (m.find()) {
      subjects.add(m.group(1));
    }
    return subjects;
  }

  @Test
  void jwtCredentialsFileUnderTheReadmePermissions() throws Exception {
    NatsOperator operator = NatsOperator.create();
    NatsProcess nats = infra.privateNats(NatsProcess.options().withConfig(operator.serverConfig()));
    Map<String, String> env = env(nats);
    String block = readmePermissions(env);
    List<String> publish = allowed(block, "publish");
    List<String> subscribe = allowed(block, "subscribe");
    assertThat(publish).contains("$JS.API.INFO").hasSizeGreaterThan(5);
    assertThat(subscribe).containsExactly("_INBOX.>");
    Path creds = certs.dir().resolve("relay.creds");
    String seed =
        operator.userCreds(
            creds,
            NatsOperator.User.named("relay").allowPublish(publish).allowSubscribe(subscribe));
    Path adminCreds = certs.dir().resolve("admin.creds");
    operator.userCreds(adminCreds, NatsOperator.User.named("admin"));
    env.put("OUTBOXKIT_RELAY_NATS_CREDENTIALS_FILE", creds.toString());
    try (Connection admin =
        Nats.connect(
            new Options.Builder()
                .server(nats.url())
                .authHandler(Nats.credentials(adminCreds.toString()))
                .build())) {
      try (RelayProcess relay = streams(env, admin)) {
        // A restart finds the stream and reads its end under the same permissions.
        relay.stop();
        try (RelayProcess again = streams(env, admin)) {
          assertThat(again.log()).doesNotContain(seed);
        }
        assertThat(relay.log()).doesNotContain(seed);
      }
      // The JWT allows nothing else: the server refuses a publish outside the relay's subjects.
      List<String> errors = new CopyOnWriteArrayList<>();
      io.nats.client.Subscription elsewhere = admin.subscribe("elsewhere.>");
      admin.flush(Duration.ofSeconds(5));
      try (Connection relayUser =
          Nats.connect(
              new Options.Builder()
                  .server(nats.url())
                  .authHandler(Nats.credentials(creds.toString()))
                  .errorListener(
                      new io.nats.client.ErrorListener() {
                        @Override
                        public void errorOccurred(Connection conn, String error) {
                          errors.add(error);
                        }
                      })
                  .build())) {
        relayUser.publish("elsewhere.x", new byte[] {1});
        relayUser.flush(Duration.ofSeconds(5));
        Ports.await(
            "the server to report the permissions violation",
            Duration.ofSeconds(30),
            () -> errors.stream().anyMatch(e -> e.contains("Permissions Violation")));
      }
      assertThat(elsewhere.nextMessage(Duration.ofMillis(500))).isNull();
    }
    // Credentials the server does not accept: an unknown account's user, an expired JWT.
    NatsOperator.strangerCreds(certs.dir().resolve("stranger.creds"));
    env.put(
        "OUTBOXKIT_RELAY_NATS_CREDENTIALS_FILE", certs.dir().resolve("stranger.creds").toString());
    assertThat(refused(env))
        .contains("setting outboxkit.relay.nats.credentials-file")
        .contains("refused by the NATS server");
    Path expired = certs.dir().resolve("expired.creds");
    String expiredSeed =
        operator.userCreds(
            expired,
            NatsOperator.User.named("relay")
                .allowPublish(publish)
                .allowSubscribe(subscribe)
                .issued(Duration.ofHours(2), Duration.ofHours(1)));
    env.put("OUTBOXKIT_RELAY_NATS_CREDENTIALS_FILE", expired.toString());
    assertThat(refused(env))
        .contains("setting outboxkit.relay.nats.credentials-file")
        .doesNotContain(expiredSeed);
  }

  @Test
  void token() throws Exception {
    NatsProcess nats =
        infra.privateNats(
            NatsProcess.options().withConfig("authorization {\n  token: \"tok-3c9e\"\n}"));
    Map<String, String> env = env(nats);
    env.put("OUTBOXKIT_RELAY_NATS_TOKEN", "tok-3c9e");
    try (Connection admin =
            Nats.connect(
                new Options.Builder().server(nats.url()).token("tok-3c9e".toCharArray()).build());
        RelayProcess relay = streams(env, admin)) {
      assertThat(relay.isAlive()).isTrue();
    }
    env.put("OUTBOXKIT_RELAY_NATS_TOKEN", "tok-wrong-55");
    assertThat(refused(env))
        .contains("setting outboxkit.relay.nats.token")
        .doesNotContain("tok-wrong-55");
  }

  @Test
  void nkey() throws Exception {
    NKey user = NKey.createUser(null);
    NKey stranger = NKey.createUser(null);
    Path seed = certs.dir().resolve("relay.nk");
    Files.writeString(seed, new String(user.getSeed()) + "\n");
    Path strangerSeed = certs.dir().resolve("stranger.nk");
    Files.writeString(strangerSeed, new String(stranger.getSeed()) + "\n");
    NatsProcess nats =
        infra.privateNats(
            NatsProcess.options()
                .withConfig(
                    "authorization {\n  users = [\n    { nkey: \""
                        + new String(user.getPublicKey())
                        + "\" }\n    { user: \"admin\", password: \"admin-pw\" }\n  ]\n}"));
    Map<String, String> env = env(nats);
    env.put("OUTBOXKIT_RELAY_NATS_NKEY_SEED_FILE", seed.toString());
    try (Connection admin = admin(nats, null, true);
        RelayProcess relay = streams(env, admin)) {
      assertThat(relay.log()).doesNotContain(new String(user.getSeed()));
    }
    env.put("OUTBOXKIT_RELAY_NATS_NKEY_SEED_FILE", strangerSeed.toString());
    assertThat(refused(env))
        .contains("setting outboxkit.relay.nats.nkey-seed-file")
        .doesNotContain(new String(stranger.getSeed()));
  }

  @Test
  void tlsWithTheTestCa() throws Exception {
    NatsProcess nats = infra.privateNats(NatsProcess.options().withConfig(tlsConfig(certs, false)));
    Map<String, String> env = env(nats);
    tls(env, certs, false);
    try (Connection admin = admin(nats, certs, false);
        RelayProcess relay = streams(env, admin)) {
      assertThat(relay.isAlive()).isTrue();
    }
    // The JVM's trust store does not know the test's CA.
    env.remove("OUTBOXKIT_RELAY_NATS_TRUSTSTORE");
    env.remove("OUTBOXKIT_RELAY_NATS_TRUSTSTORE_PASSWORD");
    assertThat(refused(env)).contains("setting outboxkit.relay.nats.truststore");
  }

  @Test
  void mutualTlsWithAClientCertificate() throws Exception {
    NatsProcess nats = infra.privateNats(NatsProcess.options().withConfig(tlsConfig(certs, true)));
    Map<String, String> env = env(nats);
    tls(env, certs, true);
    try (Connection admin = admin(nats, certs, false);
        RelayProcess relay = streams(env, admin)) {
      assertThat(relay.isAlive()).isTrue();
    }
    env.remove("OUTBOXKIT_RELAY_NATS_KEYSTORE");
    env.remove("OUTBOXKIT_RELAY_NATS_KEYSTORE_PASSWORD");
    String log = refused(env);
    assertThat(log).contains("setting outboxkit.relay.nats.");
    assertThat(log).containsAnyOf("nats.keystore", "nats.truststore");
  }

  @Test
  void noSecretInLogsHealthOrMetrics() throws Exception {
    String db = "db-secret-7d1f0e";
    String natsPw = "nats-secret-a93b21";
    String store = "store-secret-5e8c44";
    String url = "url-secret-0c7d19";
    List<String> markers = List.of(db, natsPw, store, url);
    TestCerts secretCerts = infra.closeAfterClass(TestCerts.create("relay", store));
    NatsProcess nats =
        infra.privateNats(
            NatsProcess.options()
                .withConfig(
                    tlsConfig(secretCerts, true)
                        + "\nauthorization {\n  users = [\n    { user: \"relay\", password: \""
                        + natsPw
                        + "\" }\n    { user: \"admin\", password: \"admin-pw\" }\n  ]\n}"));
    Map<String, String> env = env(nats);
    env.put("OUTBOXKIT_RELAY_DATABASE_PASSWORD", db); // trust auth on the shared server: accepted
    env.put("OUTBOXKIT_RELAY_NATS_USER", "relay");
    env.put("OUTBOXKIT_RELAY_NATS_PASSWORD", natsPw);
    tls(env, secretCerts, true);
    StringBuilder seen = new StringBuilder();
    try (Connection admin = admin(nats, secretCerts, true);
        RelayProcess relay = streams(env, admin)) {
      for (String path :
          List.of("/health", "/health/readiness", "/health/liveness", "/prometheus")) {
        seen.append(relay.request("GET", path).body()).append('\n');
      }
      relay.stop();
      seen.append(relay.log());
    }
    // Refused credentials: the error names the setting, never the value.
    env.put("OUTBOXKIT_RELAY_NATS_PASSWORD", natsPw + "-wrong");
    seen.append(refused(env));
    // Credentials inside a server URL, while the server cannot be reached: health and log say so.
    int closed = Ports.free();
    env.put("OUTBOXKIT_RELAY_NATS_SERVERS", "nats://relay:" + url + "@127.0.0.1:" + closed);
    env.remove("OUTBOXKIT_RELAY_NATS_USER");
    env.remove("OUTBOXKIT_RELAY_NATS_PASSWORD");
    try (RelayProcess relay = new RelayProcess(env).start()) {
      Ports.await(
          "the relay to report NATS down",
          Duration.ofSeconds(60),
          () -> {
            String h = relay.health();
            return h != null && h.contains("cannot connect to NATS");
          });
      String health = relay.health();
      assertThat(health).contains("nats://***@127.0.0.1:" + closed);
      seen.append(health).append(relay.request("GET", "/prometheus").body()).append(relay.log());
    }
    for (String marker : markers) {
      assertThat(seen.toString()).as("output containing " + marker).doesNotContain(marker);
    }
  }
}
