package io.outboxkit.relay;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * Plain JDBC connections to the source database, with errors turned into {@link RelayException}.
 */
final class SourceDatabase {
  private final RelaySettings settings;

  SourceDatabase(RelaySettings settings) {
    this.settings = settings;
  }

  /**
   * A new connection.
   *
   * @throws RelayException fatal for wrong credentials or an unknown database, else retryable
   */
  Connection connect() {
    try {
      return DriverManager.getConnection(RelaySettings.JDBC_URL, settings.jdbcProperties());
    } catch (SQLException e) {
      throw translate(e, "connecting to");
    }
  }

  private static boolean certificateRefused(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLHandshakeException
          || t instanceof java.security.cert.CertificateException
          || (t.getMessage() != null && t.getMessage().contains("could not be verified by"))) {
        return true;
      }
    }
    return false;
  }

  RelayException translate(SQLException e, String action) {
    String where =
        settings.dbUser()
            + "@"
            + settings.dbHost()
            + ":"
            + settings.dbPort()
            + "/"
            + settings.dbName();
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    if (state.equals("28P01") || state.equals("28000")) {
      return RelayException.badSetting(
          "outboxkit.relay.database.password",
          "was refused by PostgreSQL for " + where + " (" + e.getMessage() + ")",
          "set the right password (or database.password-file) and user");
    }
    if (certificateRefused(e)) {
      return RelayException.badSetting(
          "outboxkit.relay.database.ssl-root-cert",
          "does not verify the certificate of "
              + settings.dbHost()
              + ":"
              + settings.dbPort()
              + " (ssl-mode "
              + settings.database().sslMode()
              + ": "
              + e.getMessage()
              + ")",
          "give the PEM file of the CA that signed the server's certificate, and connect by a host"
              + " name the certificate names");
    }
    if (state.equals("42501") && action.equals("connecting to")) {
      return RelayException.fatal(
          "database user "
              + settings.dbUser()
              + " may not connect to database "
              + settings.dbName()
              + " ("
              + e.getMessage()
              + "): run GRANT CONNECT ON DATABASE "
              + settings.dbName()
              + " TO "
              + settings.dbUser()
              + ";");
    }
    if (state.equals("3D000")) {
      return RelayException.badSetting(
          "outboxkit.relay.database.name",
          "names a database that does not exist on " + settings.dbHost() + ":" + settings.dbPort(),
          "give the database that holds the outbox table");
    }
    return RelayException.retryable(
        action + " PostgreSQL " + where + " failed: " + e.getMessage(), e);
  }
}
