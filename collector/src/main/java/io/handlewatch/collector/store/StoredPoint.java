package io.handlewatch.collector.store;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One point of the storage schema (docs/storage-schema.md): a measurement, its tags (sorted, values
 * already made safe by {@link TagValues}), its fields ({@link Long}, {@link Double} or {@link
 * String}, never null) and the sample time, to the millisecond.
 */
public record StoredPoint(
    String measurement, SortedMap<String, String> tags, Map<String, Object> fields, Instant time) {
  public StoredPoint {
    Objects.requireNonNull(measurement, "measurement");
    tags = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(tags));
    fields = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(fields));
    Objects.requireNonNull(time, "time");
    if (fields.isEmpty()) {
      throw new IllegalArgumentException("a point needs at least one field: " + measurement);
    }
  }

  public String host() {
    return tags.get("host");
  }
}
