package io.outboxkit.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway certificate authority made with {@code openssl} for one test class: a CA, a server
 * certificate for {@code localhost} and {@code 127.0.0.1}, a client certificate, as PEM files and
 * as PKCS12 stores for Java clients. Deleted after the class when registered with {@link
 * TestInfra#closeAfterClass}.
 *
 * <pre>{@code
 * TestCerts certs = infra.closeAfterClass(TestCerts.create("relay"));
 * certs.caPem(); certs.serverCertPem(); certs.serverKeyPem();   // for the server
 * certs.truststore(); certs.keystore(); TestCerts.PASSWORD;      // for a Java client
 * }</pre>
 */
public final class TestCerts implements AutoCloseable {
  /** The password of both stores unless one is given. */
  public static final String PASSWORD = "changeit";

  private final Path dir;
  private final String password;

  private TestCerts(Path dir, String password) {
    this.dir = dir;
    this.password = password;
  }

  /** Makes a CA, a server certificate and a client certificate with common name {@code client}. */
  public static TestCerts create(String client) {
    return create(client, PASSWORD);
  }

  /** As {@link #create(String)}, with {@code password} for both stores. */
  public static TestCerts create(String client, String password) {
    try {
      Path dir = Files.createTempDirectory("outboxkit-certs-");
      TestCerts c = new TestCerts(dir, password);
      c.openssl(
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "2",
          "-subj",
          "/CN=outboxkit test CA",
          "-keyout",
          "ca.key",
          "-out",
          "ca.pem");
      c.signed("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1");
      c.signed("client", "/CN=" + client, "extendedKeyUsage=clientAuth");
      c.run(
          List.of(
              keytool(),
              "-importcert",
              "-noprompt",
              "-alias",
              "ca",
              "-file",
              "ca.pem",
              "-keystore",
              "truststore.p12",
              "-storetype",
              "PKCS12",
              "-storepass",
              password));
      c.openssl(
          "pkcs12",
          "-export",
          "-in",
          "client.pem",
          "-inkey",
          "client.key",
          "-name",
          "client",
          "-out",
          "keystore.p12",
          "-passout",
          "pass:" + password);
      return c;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void signed(String name, String subject, String extension) throws IOException {
    Path ext = dir.resolve(name + ".ext");
    Files.writeString(ext, extension + "\n");
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        subject,
        "-keyout",
        name + ".key",
        "-out",
        name + ".csr");
    openssl(
        "x509",
        "-req",
        "-in",
        name + ".csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        ext.toString(),
        "-out",
        name + ".pem");
  }

  private static String keytool() {
    Path k = Path.of(System.getProperty("java.home"), "bin", "keytool");
    return Files.isExecutable(k) ? k.toString() : "keytool";
  }

  private void openssl(String... args) {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    run(cmd);
  }

  private void run(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public Path caPem() {
    return dir.resolve("ca.pem");
  }

  public Path serverCertPem() {
    return dir.resolve("server.pem");
  }

  public Path serverKeyPem() {
    return dir.resolve("server.key");
  }

  public Path clientCertPem() {
    return dir.resolve("client.pem");
  }

  public Path clientKeyPem() {
    return dir.resolve("client.key");
  }

  /** PKCS12 trust store holding the CA. */
  public Path truststore() {
    return dir.resolve("truststore.p12");
  }

  /** PKCS12 key store holding the client certificate and key. */
  public Path keystore() {
    return dir.resolve("keystore.p12");
  }

  /** The password of both stores. */
  public String password() {
    return password;
  }

  public Path dir() {
    return dir;
  }

  @Override
  public void close() {
    TempDirs.delete(dir);
  }
}
