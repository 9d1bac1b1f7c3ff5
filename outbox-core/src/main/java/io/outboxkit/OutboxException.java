package io.outboxkit;

/**
 * The one unchecked exception of outbox-core. Its message names what went wrong and how to fix it.
 *
 * <pre>{@code
 * try {
 *   outbox.write(handle, event);
 * } catch (OutboxException e) {
 *   log.error("outbox write refused: {}", e.getMessage());
 * }
 * }</pre>
 */
public class OutboxException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public OutboxException(String message) {
    super(message);
  }

  public OutboxException(String message, Throwable cause) {
    super(message, cause);
  }
}
