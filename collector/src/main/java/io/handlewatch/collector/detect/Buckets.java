package io.handlewatch.collector.detect;

import java.time.Duration;
import java.time.Instant;

/**
 * The window's time grid: buckets of {@code bucketMs} numbered from the epoch, {@code count} of
 * them (the window plus the bucket being filled).
 */
record Buckets(long bucketMs, int count) {
  static Buckets of(Duration window, Duration resolution) {
    long ms = resolution.toMillis();
    return new Buckets(ms, (int) (window.toMillis() / ms) + 1);
  }

  long bucketOf(long timeMs) {
    return Math.floorDiv(timeMs, bucketMs);
  }

  long first(long now) {
    return now - count + 1;
  }

  Instant start(long bucket) {
    return Instant.ofEpochMilli(bucket * bucketMs);
  }

  double minutes() {
    return bucketMs / 60_000.0;
  }

  Duration window() {
    return Duration.ofMillis(bucketMs * (count - 1));
  }
}
