package io.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.outboxkit.testing.PostgresProcess;
import io.outboxkit.testing.TestCerts;
import io.outboxkit.testing.TestInfra;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The relay against a PostgreSQL that takes its role only over TLS with a scram-sha-256 password:
 * {@code ssl-mode=verify-full} with a CA made by the test, the password from a file; a wrong CA or
 * password stops it with the setting named and no secret printed.
 */
class PostgresTlsIT {
  @RegisterExtension static final TestInfra infra = new TestInfra();
  static final String PASSWORD = "Pässwörd 🔑 mit Leerzeichen";
  static TestCerts certs;
  static PostgresProcess pg;

  @BeforeAll
  static void server() throws Exception {
    certs = infra.closeAfterClass(TestCerts.create("relay"));
    pg =
        infra.privatePostgres(
            Map.of(
                "ssl", "on",
                "ssl_cert_file", "server.crt",
                "ssl_key_file", "server.key",
                "password_encryption", "scram-sha-256"),
            List.of(
                "hostssl all relay_tls 127.0.0.1/32 scram-sha-256",
                "host all relay_tls 127.0.0.1/32 reject"),
            Map.of("server.crt", certs.serverCertPem(), "server.key", certs.serverKeyPem()));
    LeastPrivilegeIT.database(pg, "tls");
    LeastPrivilegeIT.runRoleFile(pg, "tls", "relay-role.sql", "relay_tls");
    LeastPrivilegeIT.sql(pg, "tls", "ALTER ROLE relay_tls PASSWORD '" + PASSWORD + "'");
  }

  private static Map<String, String> env(Path passwordFile, Path rootCert) {
    Map<String, String> env = LeastPrivilegeIT.env(pg, "tls", "relay_tls");
    env.remove("OUTBOXKIT_RELAY_DATABASE_PASSWORD");
    env.put("OUTBOXKIT_RELAY_DATABASE_PASSWORD_FILE", passwordFile.toString());
    env.put("OUTBOXKIT_RELAY_DATABASE_SSL_MODE", "verify-full");
    env.put("OUTBOXKIT_RELAY_DATABASE_SSL_ROOT_CERT", rootCert.toString());
    return env;
  }

  private static Path passwordFile(String password) throws Exception {
    Path f = certs.dir().resolve("pw-" + Integer.toHexString(password.hashCode()));
    Files.writeString(f, password + "\n");
    return f;
  }

  @Test
  void verifyFullWithScramFromAPasswordFileStreamsOverTlsOnly() throws Exception {
    LeastPrivilegeIT.streamsEvents(
        pg,
        env(passwordFile(PASSWORD), certs.caPem()),
        () -> {
          try (Connection c = DriverManager.getConnection(pg.jdbcUrl("tls"), "postgres", "");
              Statement s = c.createStatement();
              ResultSet rs =
                  s.executeQuery(
                      "SELECT count(*) FILTER (WHERE ssl), count(*) FILTER (WHERE NOT ssl)"
                          + " FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)"
                          + " WHERE usename = 'relay_tls'")) {
            rs.next();
            // the lock session, the replication stream, checkpoints, offsets: all over TLS
            assertThat(rs.getInt(1)).isGreaterThanOrEqualTo(2);
            assertThat(rs.getInt(2)).isZero();
          } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
          }
        });
  }

  @Test
  void aCertificateFromAnotherCaIsRefusedNamingTheSetting() throws Exception {
    TestCerts other = infra.closeAfterClass(TestCerts.create("other"));
    String log = LeastPrivilegeIT.refused(env(passwordFile(PASSWORD), other.caPem()));
    assertThat(log)
        .contains("outboxkit.relay.database.ssl-root-cert")
        .contains("does not verify the certificate")
        .doesNotContain(PASSWORD);
  }

  @Test
  void aWrongPasswordIsRefusedWithoutPrintingIt() throws Exception {
    String wrong = "wrong-Pässwort-7f3a9c";
    String log = LeastPrivilegeIT.refused(env(passwordFile(wrong), certs.caPem()));
    assertThat(log)
        .contains("outboxkit.relay.database.password")
        .contains("password-file")
        .doesNotContain(wrong)
        .doesNotContain(PASSWORD);
  }
}
