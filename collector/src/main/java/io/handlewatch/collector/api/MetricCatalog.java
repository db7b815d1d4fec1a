package io.handlewatch.collector.api;

import io.handlewatch.collector.store.ReportPoints;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The metrics the series API serves, named {@code measurement.field} after the storage schema
 * (docs/storage-schema.md; {@code ReportPoints} writes them, the detector writes {@code verdict}),
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

  private static Map<String, Metric> build() {
    Map<String, Metric> m = new LinkedHashMap<>();
    add(m, "tcp", List.of(), ReportPoints.TCP_FIELDS.toArray(String[]::new));
    add(m, "sockstat", List.of(), "inuse", "orphan", "tw", "alloc", "mem");
    add(m, "fd", List.of(), "allocated", "max", "nr_open", "used_ratio");
    add(
        m,
        "process",
        List.of("pid", "comm", "namespace"),
        "fds",
        "soft_limit",
        "hard_limit",
        "used_ratio",
        "close_wait",
        "established",
        "time_wait",
        "start_ticks");
    List<String> netns = new java.util.ArrayList<>(ReportPoints.TCP_FIELDS);
    netns.add("namespaces");
    add(m, "netns", List.of("namespace"), netns.toArray(String[]::new));
    add(m, "close_wait_peer", List.of("pid", "comm", "remote"), "count");
    add(m, "port_pressure", List.of("remote"), "in_use", "time_wait", "range_size");
    add(m, "sysctl", List.of("name"), "numeric");
    add(m, "conntrack", List.of("namespace"), "count", "fullest", "max", "buckets", "namespaces");
    add(
        m,
        "tcp_counters",
        List.of(),
        "listen_overflows",
        "listen_drops",
        "abort_on_memory",
        "abort_on_timeout",
        "retrans_segs",
        "out_segs",
        "attempt_fails",
        "estab_resets",
        "req_q_full_drop",
        "syncookies_sent");
    add(
        m,
        "listener",
        List.of("local", "comm", "namespace"),
        "queue",
        "backlog",
        "syn_recv",
        "pid",
        "listeners");
    add(m, "agent", List.of(), "seq", "wall_micros", "cpu_micros", "rss_bytes", "dropped_reports");
    add(m, "clock", List.of(), "offset_ms", "agent_time_ms", "step_ms");
    add(m, "verdict", List.of("kind", "subject"), "eta_seconds", "slope_per_min", "value", "limit");
    return Map.copyOf(m);
  }

  private static void add(
      Map<String, Metric> m, String measurement, List<String> tags, String... fields) {
    for (String f : fields) {
      String name = measurement + "." + f;
      m.put(name, new Metric(name, measurement, f, tags));
    }
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
