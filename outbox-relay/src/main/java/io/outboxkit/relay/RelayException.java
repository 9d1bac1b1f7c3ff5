package io.outboxkit.relay;

/**
 * The relay's one unchecked exception. Its message names the cause and the fix. {@link #fatal} ones
 * stop the relay (bad settings, a dropped slot): retrying could not help and continuing could lose
 * events.
 */
final class RelayException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final boolean fatal;

  private RelayException(String message, Throwable cause, boolean fatal) {
    super(message, cause);
    this.fatal = fatal;
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
}
