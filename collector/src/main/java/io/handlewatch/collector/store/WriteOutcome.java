package io.handlewatch.collector.store;

/**
 * What became of one report's points. {@code pointsDropped} counts points the backend refused as
 * malformed (InfluxDB answers 400/422): retrying cannot help, so they are counted and the report is
 * still settled rather than blocking its agent's stream forever.
 *
 * <p>{@code backendNanos} is the time the backend itself took to take the write that carried the
 * report (InfluxDB: the POST of its batch, retries included), 0 for a store that writes in the
 * collector's own memory: ingest reports its own latency apart from the backend's.
 */
public record WriteOutcome(int pointsWritten, int pointsDropped, long backendNanos) {
  public WriteOutcome(int pointsWritten, int pointsDropped) {
    this(pointsWritten, pointsDropped, 0);
  }

  public static WriteOutcome written(int points) {
    return new WriteOutcome(points, 0);
  }

  /** The same outcome, with the backend's own write time. */
  public WriteOutcome took(long nanos) {
    return new WriteOutcome(pointsWritten, pointsDropped, nanos);
  }
}
