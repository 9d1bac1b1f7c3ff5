package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay's container image, built by Jib into {@code target/jib-image.tar} without a Docker
 * daemon, proven without one: its config is read (non-root user, entrypoint with the launcher's JVM
 * options, exposed port, environment), its layers are extracted into a root file system, and the
 * entrypoint runs there under {@code chroot} as the image's user, with what a container runtime
 * adds (/proc, device nodes, /etc/hosts). The relay starts from the image's own Java runtime
 * against a fresh test database, reaches readiness, publishes a row, answers the compose file's
 * health check command run inside the image, and stops cleanly on SIGTERM.
 */
class ContainerImageIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static final Path TAR = Path.of("target", "jib-image.tar");
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path work;
  static Path root;
  static JsonNode manifest;
  static JsonNode config;

  @BeforeAll
  static void extract() throws Exception {
    Assumptions.assumeFalse(
        Boolean.getBoolean("image.skip"), "the image build was skipped (-Dimage.skip=true)");
    assertThat(TAR)
        .as("the image tar: built by `./mvnw -pl outbox-relay package` (Jib, unless -Dimage.skip)")
        .isRegularFile();
    Path outer = Files.createDirectories(work.resolve("tar"));
    run(List.of("tar", "-xf", TAR.toAbsolutePath().toString(), "-C", outer.toString()));
    manifest = JSON.readTree(outer.resolve("manifest.json").toFile()).get(0);
    config = JSON.readTree(outer.resolve(manifest.get("Config").asText()).toFile()).get("config");
    root = Files.createDirectories(work.resolve("rootfs"));
    for (JsonNode layer : manifest.get("Layers")) {
      run(List.of("tar", "-xzf", outer.resolve(layer.asText()).toString(), "-C", root.toString()));
    }
  }

  @Test
  void theImageIsNamedAndConfiguredAsDocumented() throws Exception {
    assertThat(manifest.get("RepoTags").get(0).asText())
        .isEqualTo("outboxkit/outbox-relay:" + DeploymentManifestsTest.projectVersion());
    // A non-root user that exists in the image.
    String user = config.get("User").asText();
    assertThat(user).matches("\\d+:\\d+");
    String uid = user.split(":")[0];
    assertThat(uid).isNotEqualTo("0");
    assertThat(Files.readAllLines(root.resolve("etc/passwd")))
        .anyMatch(l -> l.split(":")[2].equals(uid));
    try (Stream<Path> files = Files.walk(root)) {
      assertThat(
              files
                  .filter(Files::isRegularFile)
                  .filter(f -> posix(f).contains(PosixFilePermission.OWNER_EXECUTE))
                  .filter(f -> isSetuid(f)))
          .as("no setuid files")
          .isEmpty();
    }

    // The entrypoint: the image's own java with the launcher's JVM options, the relay's class path.
    List<String> entrypoint = strings(config.get("Entrypoint"));
    assertThat(entrypoint.get(0)).isEqualTo("/opt/java/bin/java");
    assertThat(Files.isExecutable(root.resolve("opt/java/bin/java"))).isTrue();
    assertThat(entrypoint).containsAll(launcherOptions());
    assertThat(entrypoint.subList(entrypoint.size() - 3, entrypoint.size()))
        .containsExactly("-cp", "@/app/jib-classpath-file", RelayApplication.class.getName());
    for (String entry :
        Files.readString(root.resolve("app/jib-classpath-file")).strip().split(":")) {
      Path p = root.resolve(entry.substring(1));
      assertThat(entry.endsWith("/*") ? p.getParent() : p).as("class path entry " + entry).exists();
    }

    // The port the relay listens on by default; the environment.
    String port = DeploymentManifestsTest.placeholderDefaults().get("OUTBOXKIT_RELAY_HTTP_PORT");
    assertThat(fieldNames(config.get("ExposedPorts"))).containsExactly(port + "/tcp");
    assertThat(strings(config.get("Env"))).contains("JAVA_HOME=/opt/java", "PATH=/opt/java/bin");
    // Only the runtime's modules: a jlinked image, not a whole JDK.
    assertThat(Files.readString(root.resolve("opt/java/release")))
        .contains("MODULES=")
        .doesNotContain("jdk.compiler");
    assertThat(root.resolve("opt/java/lib/server/classes.jsa")).as("CDS archive").exists();
  }

  @Test
  void theRelayStartsFromTheExtractedImageAndRelays() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    addWhatAContainerRuntimeAdds();
    int port = Ports.free();
    String stream = infra.streamName();
    Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream);
    env.put("OUTBOXKIT_RELAY_HTTP_PORT", Integer.toString(port));
    env.put("OUTBOXKIT_RELAY_HTTP_HOST", "127.0.0.1");
    for (String e : strings(config.get("Env"))) {
      int eq = e.indexOf('=');
      env.putIfAbsent(e.substring(0, eq), e.substring(eq + 1));
    }
    Path log = work.resolve("relay.log");
    Process relay = inImage(strings(config.get("Entrypoint")), env, log);
    try (Connection nc = TestInfra.connect(infra.natsUrl())) {
      String readiness = "http://127.0.0.1:" + port + "/health/readiness";
      try {
        Ports.await(
            "the relay in the image streaming",
            Duration.ofSeconds(180),
            () -> {
              assertThat(relay.isAlive()).as("relay alive; log:\n" + tail(log)).isTrue();
              String body = get(readiness);
              return body != null && body.contains("\"state\":\"STREAMING\"");
            });
      } catch (IllegalStateException e) {
        throw new AssertionError(e.getMessage() + "; log:\n" + tail(log), e);
      }
      UUID id =
          infra
              .jdbi()
              .withHandle(
                  h ->
                      h.createQuery(
                              "INSERT INTO public.outbox (aggregate_type, aggregate_id, event_type,"
                                  + " payload) VALUES ('meter', 'Zähler 1', 'Registered',"
                                  + " convert_to('{\"ort\":\"Köln 🌩\"}', 'UTF8')) RETURNING id")
                          .mapTo(UUID.class)
                          .one());
      StreamContents.awaitCount(nc, stream, 1, Duration.ofSeconds(60));
      StreamContents.Stored m = StreamContents.readAll(nc, stream).get(0);
      assertThat(m.msgId()).isEqualTo(id.toString());
      assertThat(new String(m.data(), StandardCharsets.UTF_8)).isEqualTo("{\"ort\":\"Köln 🌩\"}");

      // The compose file's health check, run inside the image as compose runs it.
      List<String> check = DeploymentManifestsTest.composeRelayHealthCheck();
      assertThat(check.get(0)).isEqualTo("CMD");
      List<String> probe = new ArrayList<>(check.subList(1, check.size()));
      String url = probe.get(probe.size() - 1);
      probe.set(probe.size() - 1, url.replaceFirst(":\\d+/", ":" + port + "/"));
      Process ok = inImage(probe, Map.of("PATH", "/opt/java/bin"), work.resolve("probe.log"));
      assertThat(ok.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(ok.exitValue()).as(tail(work.resolve("probe.log"))).isZero();
      probe.set(probe.size() - 1, "http://127.0.0.1:" + Ports.free() + "/health/readiness");
      Process down = inImage(probe, Map.of("PATH", "/opt/java/bin"), work.resolve("probe2.log"));
      assertThat(down.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(down.exitValue()).as("the probe fails where nothing answers").isEqualTo(1);

      // SIGTERM (what docker stop sends) drains and exits.
      relay.destroy();
      assertThat(relay.waitFor(60, TimeUnit.SECONDS)).as("stopped; log:\n" + tail(log)).isTrue();
      assertThat(relay.exitValue()).as("exit status; log:\n" + tail(log)).isNotEqualTo(2);
      assertThat(Files.readString(log)).contains("stopped");
    } finally {
      if (relay.isAlive()) {
        relay.destroyForcibly();
        relay.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Runs {@code command} inside the extracted image as the image's user, with {@code env} only: as
   * root by {@code chroot} in a mount namespace of its own with /proc mounted; otherwise in a user
   * namespace ({@code unshare -r}). The command replaces the shell (one process, so SIGTERM reaches
   * java).
   */
  static Process inImage(List<String> command, Map<String, String> env, Path log)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    boolean rootUser = "root".equals(System.getProperty("user.name"));
    if (rootUser) {
      cmd.addAll(
          List.of(
              tool("unshare"),
              "--mount",
              "--propagation",
              "private",
              tool("bash"),
              "-c",
              "\"$3\" -t proc proc \"$0/proc\" && exec \"$2\" --userspec=\"$1\" \"$0\" \"${@:4}\"",
              root.toString(),
              config.get("User").asText(),
              tool("chroot"),
              tool("mount")));
    } else {
      cmd.addAll(List.of(tool("unshare"), "--map-root-user", tool("chroot"), root.toString()));
    }
    cmd.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    pb.environment().clear();
    pb.environment().putAll(env);
    return pb.start();
  }

  /** The host's {@code name} (the image's environment has no PATH for host tools). */
  private static String tool(String name) {
    String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
    for (String dir : path.split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return Path.of(dir, name).toString();
      }
    }
    throw new AssertionError(name + " is not installed (apt-get install util-linux coreutils)");
  }

  /** Docker and Kubernetes give every container /proc, /dev's basic nodes and /etc/hosts. */
  private static void addWhatAContainerRuntimeAdds() throws Exception {
    Files.createDirectories(root.resolve("proc"));
    Path dev = Files.createDirectories(root.resolve("dev"));
    if ("root".equals(System.getProperty("user.name"))) {
      for (String[] node :
          List.of(
              new String[] {"null", "1", "3"},
              new String[] {"zero", "1", "5"},
              new String[] {"random", "1", "8"},
              new String[] {"urandom", "1", "9"})) {
        if (!Files.exists(dev.resolve(node[0]))) {
          run(
              List.of(
                  "mknod", "-m", "666", dev.resolve(node[0]).toString(), "c", node[1], node[2]));
        }
      }
    }
    // Docker maps the container's host name; here the host's name is the container's (no UTS
    // namespace).
    String hostname = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
    Files.writeString(
        root.resolve("etc/hosts"),
        "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t" + hostname + "\n");
  }

  /** The fixed JVM options of bin/outbox-relay (its {@code opts=(…)}). */
  static List<String> launcherOptions() throws IOException {
    String script = Files.readString(Path.of("bin", "outbox-relay"));
    Matcher m = Pattern.compile("\nopts=\\(([^)]*)\\)").matcher(script);
    assertThat(m.find()).as("opts=( … ) in bin/outbox-relay").isTrue();
    List<String> opts = Arrays.asList(m.group(1).trim().split("\\s+"));
    assertThat(opts).contains("-Xmx128m");
    return opts;
  }

  private static String get(String url) {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                  HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private static String tail(Path log) {
    try {
      String s = Files.readString(log);
      return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static java.util.Set<PosixFilePermission> posix(Path f) {
    try {
      return Files.getPosixFilePermissions(f);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static boolean isSetuid(Path f) {
    try {
      int mode = (Integer) Files.getAttribute(f, "unix:mode");
      return (mode & 06000) != 0;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static List<String> fieldNames(JsonNode object) {
    List<String> out = new ArrayList<>();
    object.fieldNames().forEachRemaining(out::add);
    return out;
  }

  private static void run(List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).as(String.join(" ", cmd)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
  }
}
