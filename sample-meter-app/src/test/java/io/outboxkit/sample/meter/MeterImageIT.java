package io.outboxkit.sample.meter;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.ContainerImage;
import io.outboxkit.testing.Ports;
import io.outboxkit.testing.TestInfra;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The meter service's container image, built by Jib into {@code target/jib-image.tar} without a
 * Docker daemon, run without one ({@link ContainerImage}: extracted layers, {@code chroot} as the
 * image's user): it starts from the image's own Java runtime against a fresh test database, answers
 * {@code /health}, accepts a meter, answers the compose file's health check run inside the image,
 * and stops on SIGTERM.
 */
@SuppressWarnings("unchecked")
class MeterImageIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static final Path TAR = Path.of("target", "jib-image.tar");
  static final Path COMPOSE = Path.of("..", "infra", "docker-compose.yml");

  @TempDir static Path work;
  static ContainerImage image;

  @BeforeAll
  static void extract() throws Exception {
    Assumptions.assumeFalse(
        Boolean.getBoolean("image.skip"), "the image build was skipped (-Dimage.skip=true)");
    assertThat(TAR)
        .as("the image tar: built by `./mvnw -pl sample-meter-app package` (Jib)")
        .isRegularFile();
    image = ContainerImage.extract(TAR, work);
  }

  @Test
  void theImageIsNamedAndConfiguredAsCompose() throws Exception {
    assertThat(image.repoTag()).isEqualTo("outboxkit/sample-meter-app:" + projectVersion());
    String uid = image.user().split(":")[0];
    assertThat(uid).isNotEqualTo("0");
    assertThat(Files.readAllLines(image.root().resolve("etc/passwd")))
        .anyMatch(l -> l.split(":")[2].equals(uid));
    List<String> entrypoint = image.entrypoint();
    assertThat(entrypoint.get(0)).isEqualTo("/opt/java/bin/java");
    assertThat(entrypoint).contains("-Xmx256m");
    assertThat(entrypoint.subList(entrypoint.size() - 3, entrypoint.size()))
        .containsExactly("-cp", "@/app/jib-classpath-file", MeterApplication.class.getName());
    Map<String, Object> meter = composeService("meter");
    String port = ((Map<String, Object>) meter.get("environment")).get("METER_PORT").toString();
    assertThat(image.exposedPorts()).containsExactly(port + "/tcp");
    assertThat(image.root().resolve("opt/outboxkit/probe/io/outboxkit/probe/HealthProbe.class"))
        .as("the health probe in the runtime layer")
        .isRegularFile();
  }

  @Test
  void theServiceStartsFromTheExtractedImageAndAcceptsAMeter() throws Exception {
    image.addWhatAContainerRuntimeAdds();
    int port = Ports.free();
    Map<String, String> env = new HashMap<>();
    env.put("METER_PORT", Integer.toString(port));
    env.put("METER_DB_URL", infra.jdbcUrl());
    env.put("METER_DB_USER", infra.pgUser());
    env.put("METER_DB_PASSWORD", infra.pgPassword());
    Path log = work.resolve("meter.log");
    Process app = image.run(image.entrypoint(), image.environment(env), log);
    try {
      String health = "http://127.0.0.1:" + port + "/health";
      try {
        Ports.await(
            "the meter service in the image healthy",
            Duration.ofSeconds(180),
            () -> {
              assertThat(app.isAlive()).as("alive; log:\n" + ContainerImage.tail(log)).isTrue();
              HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(health)));
              return r != null && r.statusCode() == 200 && r.body().contains("\"UP\"");
            });
      } catch (IllegalStateException e) {
        throw new AssertionError(e.getMessage() + "; log:\n" + ContainerImage.tail(log), e);
      }

      HttpResponse<String> created =
          send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/meters"))
                  .header("Content-Type", "application/json")
                  .POST(
                      HttpRequest.BodyPublishers.ofString(
                          MeterApiIT.meter("image-m-1", "image-a-1", "f-1", "residential-tou"))));
      assertThat(created).isNotNull();
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      String account =
          infra
              .jdbi()
              .withHandle(
                  h ->
                      h.createQuery("SELECT account_id FROM meter WHERE meter_id = :id")
                          .bind("id", "image-m-1")
                          .mapTo(String.class)
                          .one());
      assertThat(account).isEqualTo("image-a-1");
      long events =
          infra
              .jdbi()
              .withHandle(
                  h ->
                      h.createQuery("SELECT count(*) FROM outbox WHERE aggregate_id = :id")
                          .bind("id", "image-m-1")
                          .mapTo(Long.class)
                          .one());
      assertThat(events).as("the meter's event in the outbox, with the row").isEqualTo(1L);

      // The compose file's health check, run inside the image as compose runs it.
      image.assertHealthCheck(
          (List<String>) map(composeService("meter"), "healthcheck").get("test"), port, work);

      // SIGTERM (what docker stop sends) stops the service.
      app.destroy();
      assertThat(app.waitFor(60, TimeUnit.SECONDS))
          .as("stopped; log:\n" + ContainerImage.tail(log))
          .isTrue();
    } finally {
      if (app.isAlive()) {
        app.destroyForcibly();
        app.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) {
    try {
      return HttpClient.newHttpClient()
          .send(
              request.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  static Map<String, Object> composeService(String name) throws IOException {
    Map<String, Object> compose = new Yaml().load(Files.readString(COMPOSE));
    return map(map(compose, "services"), name);
  }

  private static Map<String, Object> map(Map<String, Object> parent, String key) {
    Object value = parent.get(key);
    assertThat(value).as(key).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  /** The project's version, from the parent pom. */
  static String projectVersion() throws IOException {
    Matcher m =
        Pattern.compile("<artifactId>outboxkit-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(Files.readString(Path.of("..", "pom.xml")));
    assertThat(m.find()).as("the parent pom's version").isTrue();
    return m.group(1);
  }
}
