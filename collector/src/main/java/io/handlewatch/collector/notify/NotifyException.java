package io.handlewatch.collector.notify;

import java.time.Duration;
import java.util.Optional;

/**
 * A delivery that failed, classified the way the dispatcher acts on it: {@link Kind#UNAVAILABLE} is
 * retried with backoff, {@link Kind#REJECTED} is counted, logged and dropped.
 */
public final class NotifyException extends Exception {

  /** What retrying would achieve. */
  public enum Kind {
    /** Unreachable, timed out, 429 or 5xx: try again later. */
    UNAVAILABLE,
    /** Any other non-2xx (400, 401, 403, 404, ...): the configuration or the payload is wrong. */
    REJECTED
  }

  private final Kind kind;
  private final int status;
  private final Duration retryAfter;

  public NotifyException(Kind kind, int status, Duration retryAfter, String message, Throwable c) {
    super(message, c);
    this.kind = kind;
    this.status = status;
    this.retryAfter = retryAfter;
  }

  /** A transport failure (connection refused, timeout): retryable. */
  public static NotifyException unreachable(String message, Throwable cause) {
    return new NotifyException(Kind.UNAVAILABLE, 0, null, message, cause);
  }

  /** Classifies a non-2xx HTTP status the receiver answered. */
  public static NotifyException forStatus(int status, Duration retryAfter, String message) {
    Kind kind = status == 429 || status >= 500 ? Kind.UNAVAILABLE : Kind.REJECTED;
    return new NotifyException(kind, status, retryAfter, message, null);
  }

  public Kind kind() {
    return kind;
  }

  public boolean retryable() {
    return kind == Kind.UNAVAILABLE;
  }

  /** The HTTP status, or 0 when the receiver never answered. */
  public int status() {
    return status;
  }

  /** How long the receiver asked us to wait (Retry-After), if it did. */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }
}
