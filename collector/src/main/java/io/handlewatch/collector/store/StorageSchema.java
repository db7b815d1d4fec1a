package io.handlewatch.collector.store;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The storage schema in one place: every measurement the collector writes, the tags its points
 * carry and its fields with their types. {@link ReportPoints} and the detector write points of
 * these measurements, {@code StoredReports} reads them back, the series API serves their numeric
 * fields ({@code MetricCatalog}) and ingest counts their series ({@code SeriesBudget}).
 * docs/storage-schema.md describes the same schema with units, cardinality and retention; tests
 * hold the code's points, the document and the dashboards' queries to this class.
 */
public final class StorageSchema {
  private StorageSchema() {}

  /** A field's type as stored. */
  public enum Type {
    INTEGER,
    FLOAT,
    STRING;

    /** Whether the series API can serve it (it serves numbers only). */
    public boolean numeric() {
      return this != STRING;
    }
  }

  /** One field of a measurement. */
  public record Field(String name, Type type) {}

  /**
   * One measurement.
   *
   * @param name the measurement's name
   * @param hostLabels whether the host's labels are tags of its points (the host-level ones only:
   *     one set per host, so they add no series while an operator leaves them alone)
   * @param tags its tags besides {@value #HOST} and the host labels, in the order the API names
   *     them
   * @param fields its fields, in the order they are described
   */
  public record Measurement(
      String name, boolean hostLabels, List<String> tags, List<Field> fields) {
    /** The field of that name, if the measurement has one. */
    public Optional<Field> field(String fieldName) {
      return fields.stream().filter(f -> f.name().equals(fieldName)).findFirst();
    }

    /** Its fields' names, in order. */
    public List<String> fieldNames() {
      return fields.stream().map(Field::name).toList();
    }
  }

  /** The tag every point of every measurement carries: the host it describes. */
  public static final String HOST = "host";

  private static final boolean LABELS = true;
  private static final boolean NO_LABELS = false;

  /**
   * The TCP states as field names, in {@code TcpStateCounts} order: {@code tcp} and {@code netns}.
   */
  public static final List<String> TCP_STATE_FIELDS =
      List.of(
          "established",
          "syn_sent",
          "syn_recv",
          "fin_wait1",
          "fin_wait2",
          "time_wait",
          "close",
          "close_wait",
          "last_ack",
          "listen",
          "closing");

  public static final Measurement TCP = measurement("tcp", LABELS, List.of(), tcpStates());

  public static final Measurement NETNS =
      measurement(
          "netns", NO_LABELS, List.of("namespace"), plus(tcpStates(), integer("namespaces")));

  public static final Measurement SOCKSTAT =
      measurement(
          "sockstat",
          NO_LABELS,
          List.of(),
          integer("inuse"),
          integer("orphan"),
          integer("tw"),
          integer("alloc"),
          integer("mem"));

  public static final Measurement CONNTRACK =
      measurement(
          "conntrack",
          NO_LABELS,
          List.of("namespace"),
          integer("count"),
          integer("fullest"),
          integer("max"),
          integer("buckets"),
          integer("namespaces"));

  public static final Measurement TCP_COUNTERS =
      measurement(
          "tcp_counters",
          LABELS,
          List.of(),
          integer("listen_overflows"),
          integer("listen_drops"),
          integer("abort_on_memory"),
          integer("abort_on_timeout"),
          integer("retrans_segs"),
          integer("out_segs"),
          integer("attempt_fails"),
          integer("estab_resets"),
          integer("req_q_full_drop"),
          integer("syncookies_sent"));

  public static final Measurement LISTENER =
      measurement(
          "listener",
          NO_LABELS,
          List.of("local", "comm", "namespace"),
          integer("queue"),
          integer("backlog"),
          integer("syn_recv"),
          integer("listeners"),
          integer("pid"));

  public static final Measurement FD =
      measurement(
          "fd",
          LABELS,
          List.of(),
          integer("allocated"),
          integer("max"),
          integer("nr_open"),
          real("used_ratio"));

  public static final Measurement PROCESS =
      measurement(
          "process",
          NO_LABELS,
          List.of("pid", "comm", "namespace"),
          integer("fds"),
          integer("soft_limit"),
          integer("hard_limit"),
          real("used_ratio"),
          integer("close_wait"),
          integer("established"),
          integer("time_wait"),
          integer("start_ticks"),
          text("pod"),
          text("container"),
          text("container_id"),
          text("unit"));

  public static final Measurement CLOSE_WAIT_PEER =
      measurement("close_wait_peer", NO_LABELS, List.of("pid", "comm", "remote"), integer("count"));

  public static final Measurement PORT_PRESSURE =
      measurement(
          "port_pressure",
          NO_LABELS,
          List.of("remote"),
          integer("in_use"),
          integer("time_wait"),
          integer("range_size"));

  public static final Measurement SYSCTL =
      measurement("sysctl", NO_LABELS, List.of("name"), text("value"), real("numeric"));

  public static final Measurement AGENT =
      measurement(
          "agent",
          LABELS,
          List.of(),
          integer("seq"),
          integer("wall_micros"),
          integer("cpu_micros"),
          integer("rss_bytes"),
          integer("dropped_reports"),
          text("agent_version"),
          text("agent_commit"));

  public static final Measurement CLOCK =
      measurement(
          "clock",
          NO_LABELS,
          List.of(),
          integer("agent_time_ms"),
          integer("offset_ms"),
          integer("step_ms"));

  public static final Measurement VERDICT =
      measurement(
          "verdict",
          NO_LABELS,
          List.of("kind", "subject"),
          text("severity"),
          integer("eta_seconds"),
          real("slope_per_min"),
          real("value"),
          real("limit"),
          text("alert"));

  public static final Measurement ALERT =
      measurement(
          "alert",
          NO_LABELS,
          List.of("alertname"),
          text("status"),
          text("severity"),
          text("summary"));

  /** Every measurement, in the order docs/storage-schema.md describes them. */
  public static final List<Measurement> ALL =
      List.of(
          TCP,
          NETNS,
          SOCKSTAT,
          CONNTRACK,
          TCP_COUNTERS,
          LISTENER,
          FD,
          PROCESS,
          CLOSE_WAIT_PEER,
          PORT_PRESSURE,
          SYSCTL,
          AGENT,
          CLOCK,
          VERDICT,
          ALERT);

  private static final Map<String, Measurement> BY_NAME = byName();

  private static Map<String, Measurement> byName() {
    Map<String, Measurement> m = new LinkedHashMap<>();
    for (Measurement x : ALL) {
      if (m.put(x.name(), x) != null) throw new IllegalStateException("twice: " + x.name());
    }
    return Map.copyOf(m);
  }

  /** The measurement of that name, if the schema has one. */
  public static Optional<Measurement> find(String name) {
    return Optional.ofNullable(BY_NAME.get(name));
  }

  private static Measurement measurement(
      String name, boolean hostLabels, List<String> tags, Field... fields) {
    return new Measurement(name, hostLabels, List.copyOf(tags), List.of(fields));
  }

  private static Field[] tcpStates() {
    return TCP_STATE_FIELDS.stream().map(StorageSchema::integer).toArray(Field[]::new);
  }

  private static Field[] plus(Field[] first, Field... more) {
    List<Field> all = new ArrayList<>(Arrays.asList(first));
    all.addAll(Arrays.asList(more));
    return all.toArray(Field[]::new);
  }

  private static Field integer(String name) {
    return new Field(name, Type.INTEGER);
  }

  private static Field real(String name) {
    return new Field(name, Type.FLOAT);
  }

  private static Field text(String name) {
    return new Field(name, Type.STRING);
  }
}
