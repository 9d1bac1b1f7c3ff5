package io.outboxkit.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A container image built by Jib into a tar ({@code target/jib-image.tar}), run without a Docker
 * daemon: its manifest and config are read, its layers extracted into a root file system, and
 * commands run there under {@code chroot} as the image's user, with what a container runtime adds
 * (/proc, device nodes, /etc/hosts).
 *
 * <pre>{@code
 * ContainerImage image = ContainerImage.extract(Path.of("target/jib-image.tar"), tempDir);
 * image.addWhatAContainerRuntimeAdds();
 * Process app = image.run(image.entrypoint(), image.environment(Map.of("PORT", "8080")), log);
 * }</pre>
 */
public final class ContainerImage {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path root;
  private final JsonNode manifest;
  private final JsonNode config;

  private ContainerImage(Path root, JsonNode manifest, JsonNode config) {
    this.root = root;
    this.manifest = manifest;
    this.config = config;
  }

  /** Unpacks {@code tar} (a {@code docker save} format tar) under {@code work}. */
  public static ContainerImage extract(Path tar, Path work) throws IOException {
    Path outer = Files.createDirectories(work.resolve("tar"));
    exec(List.of("tar", "-xf", tar.toAbsolutePath().toString(), "-C", outer.toString()));
    JsonNode manifest = JSON.readTree(outer.resolve("manifest.json").toFile()).get(0);
    JsonNode config =
        JSON.readTree(outer.resolve(manifest.get("Config").asText()).toFile()).get("config");
    Path root = Files.createDirectories(work.resolve("rootfs"));
    for (JsonNode layer : manifest.get("Layers")) {
      exec(List.of("tar", "-xzf", outer.resolve(layer.asText()).toString(), "-C", root.toString()));
    }
    return new ContainerImage(root, manifest, config);
  }

  /** The extracted root file system. */
  public Path root() {
    return root;
  }

  /** The image's first name, e.g. {@code outboxkit/outbox-relay:0.1.0-SNAPSHOT}. */
  public String repoTag() {
    return manifest.get("RepoTags").get(0).asText();
  }

  /** The image's config (Docker's {@code config} object: User, Entrypoint, Env, …). */
  public JsonNode config() {
    return config;
  }

  /** The image's user, {@code uid:gid}. */
  public String user() {
    return config.get("User").asText();
  }

  public List<String> entrypoint() {
    return strings(config.get("Entrypoint"));
  }

  /** The image's environment entries, {@code NAME=value}. */
  public List<String> env() {
    return strings(config.get("Env"));
  }

  /** {@code 8080/tcp}, … */
  public List<String> exposedPorts() {
    List<String> out = new ArrayList<>();
    config.get("ExposedPorts").fieldNames().forEachRemaining(out::add);
    return out;
  }

  /** {@code settings}, then the image's environment where a setting does not override it. */
  public Map<String, String> environment(Map<String, String> settings) {
    Map<String, String> env = new LinkedHashMap<>(settings);
    for (String e : env()) {
      int eq = e.indexOf('=');
      env.putIfAbsent(e.substring(0, eq), e.substring(eq + 1));
    }
    return env;
  }

  /** Docker and Kubernetes give every container /proc, /dev's basic nodes and /etc/hosts. */
  public void addWhatAContainerRuntimeAdds() throws IOException {
    Files.createDirectories(root.resolve("proc"));
    Path dev = Files.createDirectories(root.resolve("dev"));
    if (asRoot()) {
      for (String[] node :
          List.of(
              new String[] {"null", "1", "3"},
              new String[] {"zero", "1", "5"},
              new String[] {"random", "1", "8"},
              new String[] {"urandom", "1", "9"})) {
        if (!Files.exists(dev.resolve(node[0]))) {
          exec(
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

  /**
   * Runs {@code command} inside the extracted image as the image's user, with {@code env} only: as
   * root by {@code chroot} in a mount namespace of its own with /proc mounted; otherwise in a user
   * namespace ({@code unshare -r}). The command replaces the shell (one process, so SIGTERM reaches
   * java). Output goes to {@code log}.
   */
  public Process run(List<String> command, Map<String, String> env, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    if (asRoot()) {
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
              user(),
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

  /**
   * Runs a compose file's health check ({@code ["CMD", command…, url]}) inside this image as
   * compose runs it, with the url's port replaced by {@code port}: it must exit 0, and 1 where
   * nothing answers.
   */
  public void assertHealthCheck(List<String> check, int port, Path work)
      throws IOException, InterruptedException {
    if (check.isEmpty() || !"CMD".equals(check.get(0))) {
      throw new AssertionError("the health check is not in exec form [\"CMD\", …]: " + check);
    }
    List<String> probe = new ArrayList<>(check.subList(1, check.size()));
    int last = probe.size() - 1;
    String url = probe.get(last);
    probe.set(last, url.replaceFirst(":\\d+/", ":" + port + "/"));
    Path okLog = work.resolve("probe.log");
    int ok = probe(probe, okLog);
    if (ok != 0) {
      throw new AssertionError("the health check exited " + ok + "; its output:\n" + tail(okLog));
    }
    probe.set(last, url.replaceFirst(":\\d+/", ":" + Ports.free() + "/"));
    int down = probe(probe, work.resolve("probe-down.log"));
    if (down != 1) {
      throw new AssertionError("the health check exited " + down + " where nothing answers, not 1");
    }
  }

  private int probe(List<String> command, Path log) throws IOException, InterruptedException {
    Process p = run(command, Map.of("PATH", "/opt/java/bin"), log);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the health check did not end within 60 s: " + command);
    }
    return p.exitValue();
  }

  /** The last 6000 characters of {@code log}, for assertion messages. */
  public static String tail(Path log) {
    try {
      String s = Files.readString(log);
      return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static boolean asRoot() {
    return "root".equals(System.getProperty("user.name"));
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

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static void exec(List<String> cmd) throws IOException {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(5, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new AssertionError(String.join(" ", cmd) + ": no exit within 5 minutes");
      }
      if (p.exitValue() != 0) {
        throw new AssertionError(String.join(" ", cmd) + ": exit " + p.exitValue() + ": " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new IOException("interrupted: " + cmd, e));
    }
  }
}
