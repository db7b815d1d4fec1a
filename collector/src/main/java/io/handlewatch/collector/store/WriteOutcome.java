package io.handlewatch.collector.store;

/**
 * What became of one report's points. {@code pointsDropped} counts points the backend refused as
 * malformed (InfluxDB answers 400/422): retrying cannot help, so they are counted and the report is
 * still settled rather than blocking its agent's stream forever.
 *
 * <p>{@code backendNanos} is the time the backend itself took to take the write that carried the
 * report (InfluxDB: the POST of its batch, retries included), 0 for a store that writes in the
 * collector's own memory: ingest reports its own latency apart from the backend's.
 *
 * <p>{@code writerWaitNanos} is the time the report waited before a writer took it because every
 * writer was busy with an earlier write (InfluxDB: all {@code store.writeConcurrency} POSTs in
 * flight, or settling what their POST carried). It is part of the collector's time, not of {@code
 * backendNanos}; ingest reports it apart so that a wait caused by a backend that is slow to answer
 * can be told from the collector's own.
 */
public record WriteOutcome(
    int pointsWritten, int pointsDropped, long backendNanos, long writerWaitNanos) {
  public WriteOutcome(int pointsWritten, int pointsDropped) {
    this(pointsWritten, pointsDropped, 0, 0);
  }

  public static WriteOutcome written(int points) {
    return new WriteOutcome(points, 0);
  }

  /** The same outcome, with the backend's own write time. */
  public WriteOutcome took(long nanos) {
    return new WriteOutcome(pointsWritten, pointsDropped, nanos, writerWaitNanos);
  }

  /** The same outcome, with the time the report waited for a free writer. */
  public WriteOutcome waitedForWriter(long nanos) {
    return new WriteOutcome(pointsWritten, pointsDropped, backendNanos, nanos);
  }
}
