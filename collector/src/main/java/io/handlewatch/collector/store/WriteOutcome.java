package io.handlewatch.collector.store;

/**
 * What became of one report's points. {@code pointsDropped} counts points the backend refused as
 * malformed (InfluxDB answers 400/422): retrying cannot help, so they are counted and the report is
 * still settled rather than blocking its agent's stream forever.
 */
public record WriteOutcome(int pointsWritten, int pointsDropped) {
  public static WriteOutcome written(int points) {
    return new WriteOutcome(points, 0);
  }
}
