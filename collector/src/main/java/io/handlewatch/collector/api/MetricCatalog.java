package io.handlewatch.collector.api;

import io.handlewatch.collector.store.StorageSchema;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The metrics the series API serves, named {@code measurement.field} after the storage schema
 * ({@link StorageSchema}; {@code ReportPoints} writes them, the detector writes {@code verdict}),
 * with the tags each can be narrowed by. Only numeric fields: a sysctl's text value is in the host
 * view.
 */
public final class MetricCatalog {
  private MetricCatalog() {}

  /**
   * One metric.
   *
   * @param name {@code measurement.field}
   * @param measurement the measurement
   * @param field the field
   * @param tags tags a query may narrow it by (besides host)
   */
  public record Metric(String name, String measurement, String field, List<String> tags) {}

  private static final Map<String, Metric> METRICS = build();

  /** Every numeric field of every measurement of the schema, narrowed by the measurement's tags. */
  private static Map<String, Metric> build() {
    Map<String, Metric> m = new LinkedHashMap<>();
    for (StorageSchema.Measurement measurement : StorageSchema.ALL) {
      for (StorageSchema.Field f : measurement.fields()) {
        if (!f.type().numeric()) continue;
        String name = measurement.name() + "." + f.name();
        m.put(name, new Metric(name, measurement.name(), f.name(), measurement.tags()));
      }
    }
    return Map.copyOf(m);
  }

  public static Optional<Metric> find(String name) {
    return Optional.ofNullable(METRICS.get(name));
  }

  /** Every metric name, sorted. */
  public static List<String> names() {
    List<String> names = new ArrayList<>(METRICS.keySet());
    names.sort(null);
    return names;
  }

  /** Every tag any metric can be narrowed by. */
  public static List<String> allTags() {
    return List.of("pid", "comm", "remote", "name", "kind", "subject", "namespace", "local");
  }
}
