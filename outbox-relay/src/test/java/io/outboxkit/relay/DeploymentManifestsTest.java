package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.micronaut.core.bind.annotation.Bindable;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The Kubernetes manifests (infra/k8s) and the compose file (infra/docker-compose.yml), parsed and
 * cross-checked against the relay itself: every OUTBOXKIT_* variable is a setting the relay reads
 * (derived from {@link RelayConfig}'s record components, application.yml and logback.xml), the
 * ports and probes meet, the grace period outlasts the relay's shutdown timeout, and every
 * ConfigMap and Secret key referenced exists.
 */
@SuppressWarnings("unchecked")
class DeploymentManifestsTest {
  static final Path K8S = Path.of("..", "infra", "k8s");
  static final Path COMPOSE = Path.of("..", "infra", "docker-compose.yml");
  static final Path ROOT_POM = Path.of("..", "pom.xml");

  /** The images' health check command, compiled into every image by infra/image/runtime.sh. */
  static final String PROBE_CLASS = "io.outboxkit.probe.HealthProbe";

  static final Path IMAGE_DIR = Path.of("..", "infra", "image");

  /** {@code ${OUTBOXKIT_X:default}} or a property {@code ${outboxkit.relay.x:default}}. */
  static final Pattern PLACEHOLDER =
      Pattern.compile("\\$\\{(OUTBOXKIT_[A-Z0-9_]+|outboxkit\\.[a-z0-9.-]+)(?::-?([^}]*))?}");

  static Map<String, Map<String, Object>> byKind = new LinkedHashMap<>();

  @BeforeAll
  static void load() throws IOException {
    try (Stream<Path> files = Files.list(K8S)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        for (Object doc : new Yaml().loadAll(Files.readString(file))) {
          Map<String, Object> m = (Map<String, Object>) doc;
          assertThat(byKind.put((String) m.get("kind"), m)).as("one " + m.get("kind")).isNull();
        }
      }
    }
    assertThat(byKind).containsOnlyKeys("ConfigMap", "Secret", "Deployment", "Service");
  }

  // --- what the relay reads -------------------------------------------------------------------

  /** OUTBOXKIT_RELAY_ + each setting of RelayConfig (nested records: their component path). */
  static Set<String> relaySettingVariables() {
    Set<String> names = new TreeSet<>();
    for (RecordComponent c : RelayConfig.class.getRecordComponents()) {
      if (c.getType().isRecord()) {
        for (RecordComponent nested : c.getType().getRecordComponents()) {
          names.add(variable(c.getName() + "." + nested.getName()));
        }
      } else {
        names.add(variable(c.getName()));
      }
    }
    return names;
  }

  /** {@code database.passwordFile} → {@code OUTBOXKIT_RELAY_DATABASE_PASSWORD_FILE}. */
  static String variable(String path) {
    String kebab = path.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
    return "OUTBOXKIT_RELAY_"
        + kebab.replace('.', '_').replace('-', '_').toUpperCase(java.util.Locale.ROOT);
  }

  /** Variables named as {@code ${NAME:default}} in the relay's application.yml and logback.xml. */
  static Map<String, String> placeholderDefaults() throws IOException {
    Map<String, String> defaults = new LinkedHashMap<>();
    for (String resource : List.of("application.yml", "logback.xml")) {
      Matcher m = PLACEHOLDER.matcher(resource(resource));
      while (m.find()) {
        String name =
            m.group(1).toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
        defaults.put(name, m.group(2));
      }
    }
    return defaults;
  }

  static Set<String> knownVariables() throws IOException {
    Set<String> known = new TreeSet<>(relaySettingVariables());
    known.addAll(placeholderDefaults().keySet());
    return known;
  }

  /** The {@code @Bindable} default of RelayConfig's shutdownTimeout (on its accessor). */
  static Duration defaultShutdownTimeout() {
    for (RecordComponent c : RelayConfig.class.getRecordComponents()) {
      if (c.getName().equals("shutdownTimeout")) {
        Bindable b = c.getAccessor().getAnnotation(Bindable.class);
        assertThat(b).as("@Bindable default of RelayConfig.shutdownTimeout").isNotNull();
        return duration(b.defaultValue());
      }
    }
    throw new AssertionError("RelayConfig has no component shutdownTimeout");
  }

  @Test
  void derivedNamesMatchTheDocumentedOnes() throws IOException {
    // A guard on the derivation itself: names the README and the tests use.
    assertThat(knownVariables())
        .contains(
            "OUTBOXKIT_RELAY_DATABASE_PASSWORD_FILE",
            "OUTBOXKIT_RELAY_NATS_CREDENTIALS_FILE",
            "OUTBOXKIT_RELAY_STREAM_DUPLICATE_WINDOW",
            "OUTBOXKIT_RELAY_ENGINE_HEARTBEAT_INTERVAL",
            "OUTBOXKIT_RELAY_SLOT_NAME",
            "OUTBOXKIT_RELAY_SHUTDOWN_TIMEOUT",
            "OUTBOXKIT_RELAY_HTTP_PORT",
            "OUTBOXKIT_RELAY_HTTP_HOST",
            "OUTBOXKIT_LOG_LEVEL")
        .doesNotContain("OUTBOXKIT_RELAY_DATABASE", "OUTBOXKIT_RELAY_PASSWORD_FILE");
    String readme = Files.readString(Path.of("..", "README.md"));
    for (String name : relaySettingVariables()) {
      String setting =
          name.substring("OUTBOXKIT_RELAY_".length()).toLowerCase(java.util.Locale.ROOT);
      assertThat(readme.replace('-', '_').replace('.', '_'))
          .as("README's settings table documents " + name)
          .contains("`" + setting);
    }
  }

  // --- Kubernetes --------------------------------------------------------------------------------

  @Test
  void twoRelaysOneActiveOneStandby() {
    Map<String, Object> spec = map(byKind.get("Deployment"), "spec");
    assertThat(spec.get("replicas")).isEqualTo(2);
    Map<String, Object> rolling = map(map(spec, "strategy"), "rollingUpdate");
    assertThat(rolling.get("maxSurge")).as("never three relays at once").isEqualTo(0);
  }

  @Test
  void everyVariableIsARelaySetting() throws IOException {
    Set<String> used = new TreeSet<>(map(byKind.get("ConfigMap"), "data").keySet());
    for (Map<String, Object> e : env()) {
      used.add((String) e.get("name"));
    }
    Set<String> known = knownVariables();
    assertThat(used.stream().filter(n -> n.startsWith("OUTBOXKIT_")))
        .as("OUTBOXKIT_* variables of the manifests; the relay reads: " + known)
        .isNotEmpty()
        .allMatch(known::contains);
    assertThat(used).contains("OUTBOXKIT_RELAY_DATABASE_NAME");
    // ConfigMap values must be strings, or Kubernetes refuses the ConfigMap.
    assertThat(map(byKind.get("ConfigMap"), "data").values()).allMatch(v -> v instanceof String);
  }

  @Test
  void portsAndProbesMeetTheRelaysHttpServer() throws IOException {
    Map<String, Object> container = container();
    Map<String, String> settings = effectiveSettings();
    String port =
        settings.getOrDefault(
            "OUTBOXKIT_RELAY_HTTP_PORT", placeholderDefaults().get("OUTBOXKIT_RELAY_HTTP_PORT"));
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (Map<String, Object> p : (List<Map<String, Object>>) container.get("ports")) {
      ports.put((String) p.get("name"), (Integer) p.get("containerPort"));
    }
    assertThat(ports).containsEntry("http", Integer.parseInt(port));
    Map<String, String> probePaths = new LinkedHashMap<>();
    for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
      Map<String, Object> get = map(map(container, probe), "httpGet");
      assertThat(get.get("port")).as(probe + " port").isIn("http", Integer.parseInt(port));
      probePaths.put(probe, (String) get.get("path"));
    }
    assertThat(probePaths)
        .containsEntry("livenessProbe", "/health/liveness")
        .containsEntry("readinessProbe", "/health/readiness");
    Map<String, Object> servicePort =
        ((List<Map<String, Object>>) map(byKind.get("Service"), "spec").get("ports")).get(0);
    assertThat(servicePort.get("targetPort")).isIn("http", Integer.parseInt(port));
    assertThat(map(map(byKind.get("Service"), "spec"), "selector"))
        .isEqualTo(map(map(map(byKind.get("Deployment"), "spec"), "selector"), "matchLabels"));
  }

  @Test
  void gracePeriodOutlastsTheShutdownTimeout() {
    String configured = effectiveSettings().get("OUTBOXKIT_RELAY_SHUTDOWN_TIMEOUT");
    Duration shutdown = configured == null ? defaultShutdownTimeout() : duration(configured);
    assertThat(shutdown).isGreaterThanOrEqualTo(defaultShutdownTimeout());
    int grace = (Integer) podSpec().get("terminationGracePeriodSeconds");
    assertThat(Duration.ofSeconds(grace)).isGreaterThan(shutdown.plusSeconds(5));
  }

  @Test
  void secretsAreReferencedByExistingKeysAndNeverPutInTheConfigMap() {
    Map<String, Object> secret = byKind.get("Secret");
    String secretName = (String) map(secret, "metadata").get("name");
    Set<String> keys = map(secret, "stringData").keySet();
    List<String> referenced = new ArrayList<>();
    for (Map<String, Object> e : env()) {
      Map<String, Object> from = (Map<String, Object>) e.get("valueFrom");
      if (from != null && from.get("secretKeyRef") != null) {
        Map<String, Object> ref = map(from, "secretKeyRef");
        assertThat(ref.get("name")).isEqualTo(secretName);
        referenced.add((String) ref.get("key"));
      }
    }
    for (Map<String, Object> v : (List<Map<String, Object>>) podSpec().get("volumes")) {
      Map<String, Object> s = (Map<String, Object>) v.get("secret");
      if (s != null) {
        assertThat(s.get("secretName")).isEqualTo(secretName);
        for (Map<String, Object> item : (List<Map<String, Object>>) s.get("items")) {
          referenced.add((String) item.get("key"));
        }
      }
    }
    assertThat(referenced).isNotEmpty().allMatch(keys::contains);
    assertThat(map(byKind.get("ConfigMap"), "data").keySet())
        .noneMatch(k -> k.endsWith("PASSWORD") || k.endsWith("TOKEN"));
    // The password file the ConfigMap names is where the Secret is mounted.
    String file =
        (String) map(byKind.get("ConfigMap"), "data").get("OUTBOXKIT_RELAY_DATABASE_PASSWORD_FILE");
    List<Map<String, Object>> mounts = (List<Map<String, Object>>) container().get("volumeMounts");
    assertThat(mounts).anyMatch(m -> file.startsWith(m.get("mountPath") + "/"));
  }

  @Test
  void containerRunsAsNonRoot() {
    assertThat(map(podSpec(), "securityContext")).containsEntry("runAsNonRoot", true);
    assertThat(map(container(), "securityContext"))
        .containsEntry("allowPrivilegeEscalation", false)
        .containsEntry("readOnlyRootFilesystem", true);
  }

  // --- docker compose ---------------------------------------------------------------------------

  @Test
  void composeStartsByHealthAndStopsGracefully() throws Exception {
    Map<String, Object> services = map(new Yaml().load(Files.readString(COMPOSE)), "services");
    // One-shot jobs (restart "no", e.g. the relay role's SQL) finish instead of being healthy.
    java.util.Set<String> oneShot = new java.util.HashSet<>();
    services.forEach(
        (name, v) -> {
          if ("no".equals(String.valueOf(((Map<String, Object>) v).get("restart")))) {
            oneShot.add(name);
          }
        });
    for (Map.Entry<String, Object> s : services.entrySet()) {
      Map<String, Object> service = (Map<String, Object>) s.getValue();
      if (!oneShot.contains(s.getKey())) {
        assertThat(service).as(s.getKey() + " has a healthcheck").containsKey("healthcheck");
      }
      Map<String, Object> deps = (Map<String, Object>) service.getOrDefault("depends_on", Map.of());
      for (Map.Entry<String, Object> dep : deps.entrySet()) {
        assertThat((Map<String, Object>) dep.getValue())
            .as(s.getKey() + " waits for " + dep.getKey())
            .containsEntry(
                "condition",
                oneShot.contains(dep.getKey())
                    ? "service_completed_successfully"
                    : "service_healthy");
      }
      for (Object port : (List<Object>) service.getOrDefault("ports", List.of())) {
        String[] parts = port.toString().split(":");
        assertThat(parts).as(s.getKey() + " " + port + ": host address and port").hasSize(3);
        assertThat(parts[0]).isEqualTo("127.0.0.1");
        assertThat(parts[1])
            .as("host port clear of local servers")
            .isNotIn("5432", "4222", "8080", "8222");
      }
    }
    assertThat(healthTest(services, "postgres")).contains("pg_isready", "-h", "127.0.0.1");
    assertThat(String.join(" ", healthTest(services, "nats")))
        .contains("http://127.0.0.1:8222/healthz?js-enabled-only=true");
    assertThat((List<String>) map(services, "nats").get("command")).contains("-m", "8222");

    Map<String, Object> relay = map(services, "relay");
    Map<String, Object> env = map(relay, "environment");
    assertThat(env.keySet().stream().filter(n -> n.startsWith("OUTBOXKIT_")))
        .allMatch(knownVariables()::contains);
    String port = env.get("OUTBOXKIT_RELAY_HTTP_PORT").toString();
    // The image has no shell: its probe class (see composeAndKubernetesRunTheImageTheBuildMakes).
    assertThat(healthTest(services, "relay"))
        .endsWith(PROBE_CLASS, "http://127.0.0.1:" + port + "/health/readiness");
    assertThat((List<String>) relay.get("ports")).anyMatch(p -> p.endsWith(":" + port));
    Object configured = env.get("OUTBOXKIT_RELAY_SHUTDOWN_TIMEOUT");
    Duration shutdown =
        configured == null ? defaultShutdownTimeout() : duration(configured.toString());
    assertThat(duration(relay.get("stop_grace_period").toString())).isGreaterThan(shutdown);
    assertThat(map(relay, "depends_on")).containsKeys("postgres", "nats", "meter");
    assertThat(map(map(services, "billing"), "depends_on")).containsKey("relay");
  }

  /**
   * The sample services connect as the roles infra/postgres/init-databases.sql makes (not the
   * superuser), each to the database it may connect to, with the password the file sets; every
   * variable the compose file gives a service is one its application.yml reads; the relay runs as
   * the role of infra/sql/relay-role-precreated.sql.
   */
  @Test
  void composeServicesConnectAsTheirOwnRoles() throws Exception {
    Map<String, Object> services = map(new Yaml().load(Files.readString(COMPOSE)), "services");
    Path init = Path.of("..", "infra", "postgres", "init-databases.sql");
    String sql = Files.readString(init);
    assertThat((List<String>) map(services, "postgres").get("volumes"))
        .contains(
            "./postgres/init-databases.sql:/docker-entrypoint-initdb.d/init-databases.sql:ro");
    Map<String, String> passwords = new LinkedHashMap<>();
    Matcher role =
        Pattern.compile("CREATE ROLE (\\w+) WITH ([^;]*?)\\s*PASSWORD '([^']*)';").matcher(sql);
    while (role.find()) {
      assertThat(role.group(2))
          .as("role " + role.group(1))
          .contains("NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE", "NOREPLICATION");
      passwords.put(role.group(1), role.group(3));
    }
    assertThat(passwords).containsOnlyKeys("meter_app", "billing_app");
    for (String[] app :
        new String[][] {
          {"meter", "METER", "sample-meter-app"}, {"billing", "BILLING", "sample-billing-app"}
        }) {
      Map<String, Object> env = map(map(services, app[0]), "environment");
      String user = env.get(app[1] + "_DB_USER").toString();
      assertThat(user).as(app[0] + "'s database user").isNotEqualTo("postgres");
      assertThat(passwords).as(app[0] + "'s role in " + init).containsKey(user);
      assertThat(env.get(app[1] + "_DB_PASSWORD")).hasToString(passwords.get(user));
      String url = env.get(app[1] + "_DB_URL").toString();
      String db = url.substring(url.lastIndexOf('/') + 1);
      assertThat(sql)
          .contains("REVOKE ALL ON DATABASE " + db + " FROM PUBLIC;")
          .containsPattern("GRANT CONNECT[A-Z, ]* ON DATABASE " + db + " TO " + user + ";")
          .contains("\\connect " + db + "\nALTER SCHEMA public OWNER TO " + user + ";");
      String yml =
          Files.readString(Path.of("..", app[2], "src", "main", "resources", "application.yml"));
      for (String name : env.keySet()) {
        assertThat(yml).as(app[2] + " reads " + name).contains("${" + name + ":");
      }
    }
    String relayRole = Files.readString(Path.of("..", "infra", "sql", "relay-role-precreated.sql"));
    Map<String, Object> relay = map(map(services, "relay"), "environment");
    assertThat(relayRole)
        .contains("CREATE ROLE " + relay.get("OUTBOXKIT_RELAY_DATABASE_USER") + " WITH")
        .contains("PASSWORD '" + relay.get("OUTBOXKIT_RELAY_DATABASE_PASSWORD") + "';")
        .contains("GRANT CONNECT ON DATABASE %I TO " + relay.get("OUTBOXKIT_RELAY_DATABASE_USER"));
  }

  // --- the container image -------------------------------------------------------------------

  @Test
  void composeAndKubernetesRunTheImageTheBuildMakes() throws Exception {
    String image = "outboxkit/outbox-relay:" + projectVersion();
    Map<String, Object> services = map(new Yaml().load(Files.readString(COMPOSE)), "services");
    Map<String, Object> relay = map(services, "relay");
    assertThat(relay.get("image")).isEqualTo(image);
    assertThat(relay).doesNotContainKeys("command", "entrypoint", "volumes");
    assertThat(container().get("image")).isEqualTo(image);
    assertThat(container()).doesNotContainKeys("command", "args");
    // The pod runs as the image's user (the build's Jib <user>).
    Matcher user =
        Pattern.compile("<user>(\\d+):(\\d+)</user>").matcher(Files.readString(ROOT_POM));
    assertThat(user.find()).as("<user> in the parent pom's Jib configuration").isTrue();
    assertThat(map(podSpec(), "securityContext"))
        .containsEntry("runAsUser", Integer.parseInt(user.group(1)))
        .containsEntry("runAsGroup", Integer.parseInt(user.group(2)));
    // The image has no shell: the health check runs the relay's probe class on the image's java,
    // against the relay's port and readiness.
    List<String> check = composeRelayHealthCheck();
    assertThat(check.get(0)).isEqualTo("CMD");
    assertThat(check.get(1)).isEqualTo("/opt/java/bin/java");
    assertThat(check).containsSubsequence("-cp", "/opt/outboxkit/probe", PROBE_CLASS);
    String port = map(relay, "environment").get("OUTBOXKIT_RELAY_HTTP_PORT").toString();
    assertThat(check.get(check.size() - 1))
        .isEqualTo("http://127.0.0.1:" + port + "/health/readiness");
    // The probe is one source file, compiled by the runtime script every image's build runs.
    String probeSource = "probe/" + PROBE_CLASS.replace('.', '/') + ".java";
    assertThat(IMAGE_DIR.resolve(probeSource)).isRegularFile();
    assertThat(Files.readString(IMAGE_DIR.resolve("runtime.sh")))
        .contains(probeSource)
        .contains("-d \"$out/opt/outboxkit/probe\"");
    assertThat(Files.readString(ROOT_POM))
        .contains("<image.runtime.script>${project.basedir}/../infra/image/runtime.sh<");
  }

  @Test
  void composeRunsTheSampleAppsFromTheirImages() throws Exception {
    Map<String, Object> services = map(new Yaml().load(Files.readString(COMPOSE)), "services");
    for (String[] app :
        List.of(
            new String[] {"meter", "sample-meter-app", "METER_PORT", "meter_app"},
            new String[] {"billing", "sample-billing-app", "BILLING_PORT", "billing_app"})) {
      Map<String, Object> service = map(services, app[0]);
      assertThat(service.get("image"))
          .as(app[0])
          .isEqualTo("outboxkit/" + app[1] + ":" + projectVersion());
      assertThat(service).doesNotContainKeys("command", "entrypoint", "volumes");
      assertThat(service).containsEntry("read_only", true);
      assertThat((List<String>) service.get("tmpfs")).containsExactly("/tmp");
      Map<String, Object> env = map(service, "environment");
      // Least privilege stays: the service's own role, not postgres.
      assertThat(env.get(app[2].replace("_PORT", "_DB_USER"))).isEqualTo(app[3]);
      String port = env.get(app[2]).toString();
      assertThat((List<String>) service.get("ports")).anyMatch(p -> p.endsWith(":" + port));
      // The port the image exposes (its pom's Jib <port>) is the one the service listens on.
      String pom = Files.readString(Path.of("..", app[1], "pom.xml"));
      assertThat(pom).contains("<artifactId>jib-maven-plugin</artifactId>");
      assertThat(pom).contains("<port>" + port + "</port>").contains("<arg>-Xmx256m</arg>");
      List<String> check = healthTest(services, app[0]);
      assertThat(check.get(0)).isEqualTo("CMD");
      assertThat(check.get(1)).isEqualTo("/opt/java/bin/java");
      assertThat(check).containsSubsequence("-cp", "/opt/outboxkit/probe", PROBE_CLASS);
      assertThat(check.get(check.size() - 1)).isEqualTo("http://127.0.0.1:" + port + "/health");
    }
    assertThat(map(map(services, "meter"), "environment"))
        .containsEntry("METER_ONBOARDING", "saga");
  }

  /** The compose file's health check of {@code service}: {@code ["CMD", command…]}. */
  static List<String> composeHealthCheck(String service) throws IOException {
    Map<String, Object> services = map(new Yaml().load(Files.readString(COMPOSE)), "services");
    return healthTest(services, service);
  }

  /** The compose file's health check of the relay: {@code ["CMD", command…]}. */
  static List<String> composeRelayHealthCheck() throws IOException {
    return composeHealthCheck("relay");
  }

  /** The project's version, from the parent pom. */
  static String projectVersion() throws IOException {
    Matcher m =
        Pattern.compile("<artifactId>outboxkit-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(Files.readString(ROOT_POM));
    assertThat(m.find()).as("the parent pom's version").isTrue();
    return m.group(1);
  }

  // --- helpers ----------------------------------------------------------------------------------

  private static List<String> healthTest(Map<String, Object> services, String name) {
    return (List<String>) map(map(services, name), "healthcheck").get("test");
  }

  /** The relay's environment in the pod: the ConfigMap, then the container's own env. */
  private static Map<String, String> effectiveSettings() {
    Map<String, String> settings = new LinkedHashMap<>();
    map(byKind.get("ConfigMap"), "data").forEach((k, v) -> settings.put(k, v.toString()));
    for (Map<String, Object> e : env()) {
      if (e.get("value") != null) {
        settings.put((String) e.get("name"), e.get("value").toString());
      }
    }
    return settings;
  }

  private static List<Map<String, Object>> env() {
    return (List<Map<String, Object>>) container().getOrDefault("env", List.of());
  }

  private static Map<String, Object> podSpec() {
    return map(map(map(byKind.get("Deployment"), "spec"), "template"), "spec");
  }

  private static Map<String, Object> container() {
    List<Map<String, Object>> containers = (List<Map<String, Object>>) podSpec().get("containers");
    assertThat(containers).hasSize(1);
    return containers.get(0);
  }

  private static Map<String, Object> map(Map<String, Object> parent, String key) {
    Object value = parent.get(key);
    assertThat(value).as(key).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  /** Micronaut's short durations as the relay's settings use them: 500ms, 30s, 2m, 1h. */
  static Duration duration(String text) {
    Matcher m = Pattern.compile("(\\d+)(ms|s|m|h)").matcher(text.trim());
    assertThat(m.matches()).as("duration " + text).isTrue();
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }

  private static String resource(String name) throws IOException {
    try (InputStream in =
        DeploymentManifestsTest.class.getClassLoader().getResourceAsStream(name)) {
      assertThat(in).as(name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
