package io.handlewatch.collector.store;

/**
 * A write or query the store could not carry out, with whether trying again can help. Ingest does
 * not acknowledge a report whose write failed; the agent keeps it and sends it again.
 */
public final class StoreException extends Exception {

  /** Whether the failure may pass by itself. */
  public enum Kind {
    /** Unreachable, overloaded (429/5xx), timed out: back off and retry. */
    TRANSIENT,
    /** Credentials or permissions refused (401/403), missing database: an operator must act. */
    CONFIGURATION,
    /** The request itself was wrong (a bad query); retrying the same request cannot help. */
    INVALID
  }

  private final Kind kind;

  public StoreException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public StoreException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
