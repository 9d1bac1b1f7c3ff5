package io.outboxkit.relay;

/**
 * The relay's one unchecked exception. Its message names the cause and the fix. {@link #fatal} ones
 * stop the relay (bad settings, a dropped slot): retrying could not help and continuing could lose
 * events.
 */
final class RelayException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final boolean fatal;
  private final boolean leadershipLost;

  private RelayException(String message, Throwable cause, boolean fatal) {
    this(message, cause, fatal, false);
  }

  private RelayException(String message, Throwable cause, boolean fatal, boolean leadershipLost) {
    super(message, cause);
    this.fatal = fatal;
    this.leadershipLost = leadershipLost;
  }

  /**
   * This relay's lease is over: it must not publish or store anything more until it leads again
   * ({@link Leadership}). Not retried where it is thrown; the supervisor decides.
   */
  static RelayException leadershipLost(String message) {
    return new RelayException(message, null, false, true);
  }

  /** A condition an operator must fix; the relay stops. */
  static RelayException fatal(String message) {
    return new RelayException(message, null, true);
  }

  /** A condition that may pass (a server down); the relay retries with backoff. */
  static RelayException retryable(String message, Throwable cause) {
    return new RelayException(message, cause, false);
  }

  /** A setting that is wrong: names the property, its environment variable and the fix. */
  static RelayException badSetting(String property, String problem, String fix) {
    return fatal(
        "setting "
            + property
            + " (env "
            + property.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_')
            + ") "
            + problem
            + ": "
            + fix);
  }

  boolean isFatal() {
    return fatal;
  }

  boolean isLeadershipLost() {
    return leadershipLost;
  }
}
