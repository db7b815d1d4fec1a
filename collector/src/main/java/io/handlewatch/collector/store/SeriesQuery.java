package io.handlewatch.collector.store;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One field of one measurement for one host over a closed time range {@code [from, to]}, e.g.
 * measurement {@code tcp}, field {@code close_wait}. {@code tags} narrows to series whose tags
 * equal the given values (e.g. {@code pid=4242} for the {@code process} measurement); an empty map
 * means every series of the measurement for that host.
 */
public record SeriesQuery(
    String host,
    String measurement,
    String field,
    Map<String, String> tags,
    Instant from,
    Instant to) {
  public SeriesQuery {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(measurement, "measurement");
    Objects.requireNonNull(field, "field");
    tags = Map.copyOf(tags);
    Objects.requireNonNull(from, "from");
    Objects.requireNonNull(to, "to");
  }

  public static SeriesQuery of(
      String host, String measurement, String field, Instant from, Instant to) {
    return new SeriesQuery(host, measurement, field, Map.of(), from, to);
  }
}
