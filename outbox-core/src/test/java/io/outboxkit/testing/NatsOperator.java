package io.outboxkit.testing;

import io.nats.client.NKey;
import io.nats.client.support.JwtUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A NATS operator made in the test, without {@code nsc}: an operator, a system account and one
 * application account with JetStream (unlimited), their NKeys and signed JWTs (jnats' {@link
 * JwtUtils#issueJWT}), the configuration lines that put a {@link NatsProcess} into operator (JWT)
 * mode with a memory resolver, and {@code .creds} files of users of the application account.
 *
 * <pre>{@code
 * NatsOperator op = NatsOperator.create();
 * NatsProcess nats = infra.privateNats(NatsProcess.options().withConfig(op.serverConfig()));
 * Path creds = op.userCreds(dir.resolve("relay.creds"), NatsOperator.User.named("relay")
 *     .allowPublish(List.of("outbox.>")).allowSubscribe(List.of("_INBOX.>")));
 * }</pre>
 */
public final class NatsOperator {
  private final NKey operator;
  private final NKey system;
  private final NKey account;
  private final String operatorJwt;
  private final String systemJwt;
  private final String accountJwt;

  /**
   * A user of the application account.
   *
   * @param name the user's name in its JWT
   * @param publish subjects it may publish to; null for no limit
   * @param subscribe subjects it may subscribe to; null for no limit
   * @param validFor how long its JWT is valid from {@code issuedAt}; null for no expiry
   * @param issuedAt epoch seconds of issue
   */
  public record User(
      String name, List<String> publish, List<String> subscribe, Duration validFor, long issuedAt) {
    public static User named(String name) {
      return new User(name, null, null, null, System.currentTimeMillis() / 1000);
    }

    public User allowPublish(List<String> subjects) {
      return new User(name, subjects, subscribe, validFor, issuedAt);
    }

    public User allowSubscribe(List<String> subjects) {
      return new User(name, publish, subjects, validFor, issuedAt);
    }

    /** A JWT issued {@code ago} and valid for {@code validFor}: expired when ago > validFor. */
    public User issued(Duration ago, Duration validFor) {
      return new User(
          name, publish, subscribe, validFor, System.currentTimeMillis() / 1000 - ago.toSeconds());
    }
  }

  private NatsOperator() {
    try {
      operator = NKey.createOperator(null);
      system = NKey.createAccount(null);
      account = NKey.createAccount(null);
      String op = pub(operator);
      operatorJwt =
          issue(
              operator,
              op,
              "outboxkit-test",
              "{\"system_account\":\"" + pub(system) + "\",\"type\":\"operator\",\"version\":2}");
      systemJwt = issue(operator, pub(system), "SYS", accountClaim(false));
      accountJwt = issue(operator, pub(account), "APP", accountClaim(true));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A new operator with a system account and an application account with JetStream. */
  public static NatsOperator create() {
    return new NatsOperator();
  }

  private static String pub(NKey key) throws GeneralSecurityException, IOException {
    return new String(key.getPublicKey());
  }

  /**
   * The nats v2 account claim: no limits; with JetStream (unlimited memory, disk, streams and
   * consumers) when asked, else JetStream is off for the account.
   */
  private static String accountClaim(boolean jetStream) {
    return "{\"limits\":{\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,\"exports\":-1,"
        + "\"wildcards\":true,\"conn\":-1,\"leaf\":-1"
        + (jetStream
            ? ",\"mem_storage\":-1,\"disk_storage\":-1,\"streams\":-1,\"consumer\":-1"
            : "")
        + "},\"default_permissions\":{\"pub\":{},\"sub\":{}},\"type\":\"account\",\"version\":2}";
  }

  private static String issue(NKey signer, String subject, String name, String natsClaim)
      throws GeneralSecurityException, IOException {
    return issue(signer, subject, name, null, System.currentTimeMillis() / 1000, natsClaim);
  }

  private static String issue(
      NKey signer, String subject, String name, Duration validFor, long issuedAt, String claim)
      throws GeneralSecurityException, IOException {
    return JwtUtils.issueJWT(signer, subject, name, validFor, issuedAt, pub(signer), () -> claim);
  }

  /** Operator mode for a {@link NatsProcess}: the operator, the system account, both accounts. */
  public String serverConfig() {
    try {
      return "operator: \""
          + operatorJwt
          + "\"\nsystem_account: \""
          + pub(system)
          + "\"\nresolver: MEMORY\nresolver_preload: {\n  "
          + pub(system)
          + ": \""
          + systemJwt
          + "\"\n  "
          + pub(account)
          + ": \""
          + accountJwt
          + "\"\n}";
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes a {@code .creds} file (user JWT and NKey seed, the format {@code nsc} writes) for a new
   * user of the application account, signed by the account.
   *
   * @return the user's seed, a secret a test may look for in logs
   */
  public String userCreds(Path file, User user) {
    try {
      return writeCreds(file, user, account);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes a {@code .creds} file of a user signed by an account this server does not know: well
   * formed, refused.
   */
  public static String strangerCreds(Path file) {
    try {
      return writeCreds(file, User.named("stranger"), NKey.createAccount(null));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String writeCreds(Path file, User user, NKey signer)
      throws GeneralSecurityException, IOException {
    NKey key = NKey.createUser(null);
    String claim =
        "{"
            + permission("pub", user.publish())
            + permission("sub", user.subscribe())
            + "\"subs\":-1,\"data\":-1,\"payload\":-1,\"type\":\"user\",\"version\":2}";
    String jwt = issue(signer, pub(key), user.name(), user.validFor(), user.issuedAt(), claim);
    String seed = new String(key.getSeed());
    Files.writeString(file, String.format(JwtUtils.NATS_USER_JWT_FORMAT, jwt, seed));
    return seed;
  }

  private static String permission(String kind, List<String> allow) {
    if (allow == null) {
      return "";
    }
    return "\""
        + kind
        + "\":{\"allow\":["
        + allow.stream().map(s -> "\"" + s + "\"").collect(Collectors.joining(","))
        + "]},";
  }
}
