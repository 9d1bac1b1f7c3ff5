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

  /**
   * One line for logs and headers: the exception's class and message, with its root cause's when
   * that differs. The one way outboxkit describes a failure.
   */
  public static String describe(Throwable e) {
    String message = e.getMessage() == null ? "" : ": " + e.getMessage();
    String text = e.getClass().getSimpleName() + message;
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root != e && root.getMessage() != null && !text.contains(root.getMessage())) {
      text += " (caused by " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
    }
    return text;
  }
}
