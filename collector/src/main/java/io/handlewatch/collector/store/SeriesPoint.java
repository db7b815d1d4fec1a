package io.handlewatch.collector.store;

import java.time.Instant;
import java.util.Map;

/**
 * One stored value: its time, the tags of its series (all of them, host included) and the value.
 * String fields (a sysctl's {@code value}) come back in {@code text} with {@code value} NaN.
 */
public record SeriesPoint(Instant time, Map<String, String> tags, double value, String text) {
  public SeriesPoint {
    tags = Map.copyOf(tags);
  }

  public static SeriesPoint numeric(Instant time, Map<String, String> tags, double value) {
    return new SeriesPoint(time, tags, value, null);
  }
}
