package io.outboxkit.bench;

/** A benchmark step failed; the message says which and, where known, the fix. */
final class BenchException extends RuntimeException {
  BenchException(String message) {
    super(message);
  }

  BenchException(String message, Throwable cause) {
    super(message, cause);
  }
}
