package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.nats.client.Connection;
import io.outboxkit.OutboxSchema;
import io.outboxkit.TableName;
import io.outboxkit.testing.ContainerImage;
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

  @TempDir static Path work;
  static ContainerImage image;
  static Path root;
  static JsonNode config;

  @BeforeAll
  static void extract() throws Exception {
    Assumptions.assumeFalse(
        Boolean.getBoolean("image.skip"), "the image build was skipped (-Dimage.skip=true)");
    assertThat(TAR)
        .as("the image tar: built by `./mvnw -pl outbox-relay package` (Jib, unless -Dimage.skip)")
        .isRegularFile();
    image = ContainerImage.extract(TAR, work);
    root = image.root();
    config = image.config();
  }

  @Test
  void theImageIsNamedAndConfiguredAsDocumented() throws Exception {
    assertThat(image.repoTag())
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
    List<String> entrypoint = image.entrypoint();
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
    assertThat(image.exposedPorts()).containsExactly(port + "/tcp");
    assertThat(image.env()).contains("JAVA_HOME=/opt/java", "PATH=/opt/java/bin");
    // Only the runtime's modules: a jlinked image, not a whole JDK.
    assertThat(Files.readString(root.resolve("opt/java/release")))
        .contains("MODULES=")
        .doesNotContain("jdk.compiler");
    assertThat(root.resolve("opt/java/lib/server/classes.jsa")).as("CDS archive").exists();
  }

  @Test
  void theRelayStartsFromTheExtractedImageAndRelays() throws Exception {
    OutboxSchema.migrateOutbox(infra.dataSource(), TableName.DEFAULT_OUTBOX);
    image.addWhatAContainerRuntimeAdds();
    int port = Ports.free();
    String stream = infra.streamName();
    Map<String, String> env = RelayProcess.env(infra, infra.natsUrl(), stream);
    env.put("OUTBOXKIT_RELAY_HTTP_PORT", Integer.toString(port));
    env.put("OUTBOXKIT_RELAY_HTTP_HOST", "127.0.0.1");
    Path log = work.resolve("relay.log");
    Process relay = image.run(image.entrypoint(), image.environment(env), log);
    try (Connection nc = TestInfra.connect(infra.natsUrl())) {
      String readiness = "http://127.0.0.1:" + port + "/health/readiness";
      try {
        Ports.await(
            "the relay in the image streaming",
            Duration.ofSeconds(180),
            () -> {
              assertThat(relay.isAlive())
                  .as("relay alive; log:\n" + ContainerImage.tail(log))
                  .isTrue();
              String body = get(readiness);
              return body != null && body.contains("\"state\":\"STREAMING\"");
            });
      } catch (IllegalStateException e) {
        throw new AssertionError(e.getMessage() + "; log:\n" + ContainerImage.tail(log), e);
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
      image.assertHealthCheck(DeploymentManifestsTest.composeRelayHealthCheck(), port, work);

      // SIGTERM (what docker stop sends) drains and exits.
      relay.destroy();
      assertThat(relay.waitFor(60, TimeUnit.SECONDS))
          .as("stopped; log:\n" + ContainerImage.tail(log))
          .isTrue();
      assertThat(relay.exitValue())
          .as("exit status; log:\n" + ContainerImage.tail(log))
          .isNotEqualTo(2);
      assertThat(Files.readString(log)).contains("stopped");
    } finally {
      if (relay.isAlive()) {
        relay.destroyForcibly();
        relay.waitFor(30, TimeUnit.SECONDS);
      }
    }
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
}
