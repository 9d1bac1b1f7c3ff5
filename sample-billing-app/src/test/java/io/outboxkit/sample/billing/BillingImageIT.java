package io.outboxkit.sample.billing;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.ContainerImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The billing service's container image, built by Jib into {@code target/jib-image.tar}: named as
 * compose names it, non-root, the compose file's JVM options and port, its class path present in
 * the layers, the runtime and health probe that infra/image/runtime.sh makes for every image.
 * (Sample-meter-app's MeterImageIT runs an image built the same way.)
 */
@SuppressWarnings("unchecked")
class BillingImageIT {
  static final Path TAR = Path.of("target", "jib-image.tar");

  @TempDir Path work;

  @Test
  void theImageIsNamedAndConfiguredAsCompose() throws Exception {
    Assumptions.assumeFalse(
        Boolean.getBoolean("image.skip"), "the image build was skipped (-Dimage.skip=true)");
    assertThat(TAR)
        .as("the image tar: built by `./mvnw -pl sample-billing-app package` (Jib)")
        .isRegularFile();
    ContainerImage image = ContainerImage.extract(TAR, work);

    Matcher version =
        Pattern.compile("<artifactId>outboxkit-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(Files.readString(Path.of("..", "pom.xml")));
    assertThat(version.find()).isTrue();
    String tag = "outboxkit/sample-billing-app:" + version.group(1);
    assertThat(image.repoTag()).isEqualTo(tag);
    Map<String, Object> billing =
        (Map<String, Object>)
            ((Map<String, Object>)
                    new Yaml()
                        .<Map<String, Object>>load(
                            Files.readString(Path.of("..", "infra", "docker-compose.yml")))
                        .get("services"))
                .get("billing");
    assertThat(billing.get("image")).isEqualTo(tag);

    String uid = image.user().split(":")[0];
    assertThat(uid).isNotEqualTo("0");
    assertThat(Files.readAllLines(image.root().resolve("etc/passwd")))
        .anyMatch(l -> l.split(":")[2].equals(uid));
    List<String> entrypoint = image.entrypoint();
    assertThat(entrypoint.get(0)).isEqualTo("/opt/java/bin/java");
    assertThat(Files.isRegularFile(image.root().resolve("opt/java/bin/java"))).isTrue();
    assertThat(entrypoint).contains("-Xmx256m");
    assertThat(entrypoint.subList(entrypoint.size() - 3, entrypoint.size()))
        .containsExactly("-cp", "@/app/jib-classpath-file", BillingApplication.class.getName());
    for (String entry :
        Files.readString(image.root().resolve("app/jib-classpath-file")).strip().split(":")) {
      Path p = image.root().resolve(entry.substring(1));
      assertThat(entry.endsWith("/*") ? p.getParent() : p).as("class path entry " + entry).exists();
    }
    String port = ((Map<String, Object>) billing.get("environment")).get("BILLING_PORT").toString();
    assertThat(image.exposedPorts()).containsExactly(port + "/tcp");
    assertThat(image.env()).contains("JAVA_HOME=/opt/java", "PATH=/opt/java/bin");
    assertThat(image.root().resolve("opt/outboxkit/probe/io/outboxkit/probe/HealthProbe.class"))
        .as("the health probe in the runtime layer")
        .isRegularFile();
  }
}
