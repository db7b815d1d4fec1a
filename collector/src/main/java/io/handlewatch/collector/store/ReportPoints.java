package io.handlewatch.collector.store;

import static io.handlewatch.collector.store.StorageSchema.AGENT;
import static io.handlewatch.collector.store.StorageSchema.CLOCK;
import static io.handlewatch.collector.store.StorageSchema.CLOSE_WAIT_PEER;
import static io.handlewatch.collector.store.StorageSchema.FD;
import static io.handlewatch.collector.store.StorageSchema.NETNS;
import static io.handlewatch.collector.store.StorageSchema.PORT_PRESSURE;
import static io.handlewatch.collector.store.StorageSchema.PROCESS;
import static io.handlewatch.collector.store.StorageSchema.SOCKSTAT;
import static io.handlewatch.collector.store.StorageSchema.SYSCTL;
import static io.handlewatch.collector.store.StorageSchema.TCP;

import io.handlewatch.collector.store.StorageSchema.Measurement;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns a validated report into the points of the storage schema, the same for every store: each
 * measurement, tag and field is described in docs/storage-schema.md, which {@code
 * StorageSchemaDocTest} holds to this code. Values the agent could not read are absent from the
 * sample and so absent from the points: never written as 0.
 */
public final class ReportPoints {
  private ReportPoints() {}

  /** Names of the {@code tcp} measurement's fields, in {@link TcpStateCounts} order. */
  public static final List<String> TCP_FIELDS = StorageSchema.TCP_STATE_FIELDS;

  /** The host tag of a report: its hostname, made tag-safe. */
  public static String hostOf(HostReport report) {
    return TagValues.safe(report.getSample().getHost().getHostname());
  }

  /** The sample time truncated to the millisecond, the precision every store keeps. */
  public static Instant timeOf(HostReport report) {
    var t = report.getSample().getTime();
    return Instant.ofEpochSecond(t.getSeconds(), (t.getNanos() / 1_000_000) * 1_000_000L);
  }

  /**
   * At least as many points as {@link #of} makes of the report, counted without making them: what
   * ingest's admission budget charges a report before the store sees it. Every measurement {@link
   * #of} writes must be counted here; {@code ReportPointsCountTest} fills every field of a report
   * and checks that the count still covers it.
   */
  public static int maxPoints(HostReport report) {
    HostSample s = report.getSample();
    // tcp, sockstat, fd, agent, clock, tcp_counters: one point each at most; netns and conntrack
    // one per namespace at most, conntrack one more for the host's own; listener one per listener.
    int namespaces = s.getTcp().getNamespacesCount();
    int n = 6 + namespaces + 1 + namespaces + s.getListenQueues().getListenersCount();
    for (ProcessSample p : s.getProcessesList()) n += 1 + p.getCloseWaitPeersCount();
    n += s.getPortPressure().getTopCount();
    n += s.getSysctlsCount();
    return n;
  }

  public static List<StoredPoint> of(HostReport report) {
    HostSample s = report.getSample();
    String host = hostOf(report);
    Instant time = timeOf(report);
    List<StoredPoint> points = new ArrayList<>(8 + s.getProcessesCount() * 2);

    // Host labels are tags of the host-level measurements only: one set per host, changed by an
    // operator, so they add no series while they stay the same (see docs/storage.md).
    Map<String, String> labels = hostLabels(s);
    if (s.hasTcp() && s.getTcp().hasTotal()) {
      points.add(point(TCP, tags(host, labels), tcpFields(s.getTcp().getTotal()), time));
      netns(s, host, time, points);
    }
    if (s.hasSockstat()) {
      var ss = s.getSockstat();
      Map<String, Object> f = new LinkedHashMap<>();
      if (ss.hasTcpInuse()) f.put("inuse", ss.getTcpInuse());
      if (ss.hasTcpOrphan()) f.put("orphan", ss.getTcpOrphan());
      if (ss.hasTcpTw()) f.put("tw", ss.getTcpTw());
      if (ss.hasTcpAlloc()) f.put("alloc", ss.getTcpAlloc());
      if (ss.hasTcpMemPages()) f.put("mem", ss.getTcpMemPages());
      if (!f.isEmpty()) points.add(point(SOCKSTAT, tags(host), f, time));
    }
    if (s.hasFileHandles()) {
      var fh = s.getFileHandles();
      Map<String, Object> f = new LinkedHashMap<>();
      if (fh.hasAllocated()) f.put("allocated", fh.getAllocated());
      if (fh.hasMax()) f.put("max", fh.getMax());
      if (fh.hasNrOpen()) f.put("nr_open", fh.getNrOpen());
      if (fh.hasUsedRatio()) f.put("used_ratio", fh.getUsedRatio());
      if (!f.isEmpty()) points.add(point(FD, tags(host, labels), f, time));
    }
    for (ProcessSample p : s.getProcessesList()) {
      String pid = Integer.toUnsignedString(p.getPid());
      String comm = TagValues.safe(p.getComm());
      Map<String, Object> f = new LinkedHashMap<>();
      if (p.hasFds()) f.put("fds", p.getFds());
      if (p.hasSoftLimit()) f.put("soft_limit", p.getSoftLimit());
      if (p.hasHardLimit()) f.put("hard_limit", p.getHardLimit());
      if (p.hasUsedRatio()) f.put("used_ratio", p.getUsedRatio());
      if (p.hasSockets()) {
        f.put("close_wait", p.getSockets().getCloseWait());
        f.put("established", p.getSockets().getEstablished());
        f.put("time_wait", p.getSockets().getTimeWait());
      }
      // With pid, names the process for its lifetime: a collector that rebuilds the detection
      // window from the store keeps a restarted process apart from its predecessor.
      if (!f.isEmpty() && p.getStartTicks() != 0) f.put("start_ticks", p.getStartTicks());
      // Pods churn: pod, container and unit are fields, never tags; the Kubernetes namespace,
      // bounded by the cluster's namespaces, is a tag (docs/storage.md).
      if (!f.isEmpty() && p.hasIdentity()) identityFields(p.getIdentity(), f);
      if (!f.isEmpty()) {
        TreeMap<String, String> t = tags(host, "pid", pid, "comm", comm);
        if (p.getIdentity().hasPodNamespace()) {
          t.put("namespace", TagValues.safe(p.getIdentity().getPodNamespace()));
        }
        points.add(point(PROCESS, t, f, time));
      }
      for (EndpointCount peer : p.getCloseWaitPeersList()) {
        points.add(
            point(
                CLOSE_WAIT_PEER,
                tags(host, "pid", pid, "comm", comm, "remote", TagValues.safe(peer.getEndpoint())),
                Map.of("count", peer.getCount()),
                time));
      }
    }
    if (s.hasPortPressure()) {
      var pp = s.getPortPressure();
      for (PortPressureEntry e : pp.getTopList()) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("in_use", e.getInUse());
        f.put("time_wait", e.getTimeWait());
        if (pp.hasRangeSize()) f.put("range_size", (long) pp.getRangeSize());
        points.add(
            point(PORT_PRESSURE, tags(host, "remote", TagValues.safe(e.getRemote())), f, time));
      }
    }
    for (Sysctl sc : s.getSysctlsList()) {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("value", sc.getValue());
      Double numeric = numeric(sc.getValue());
      if (numeric != null) f.put("numeric", numeric);
      points.add(point(SYSCTL, tags(host, "name", TagValues.safe(sc.getName())), f, time));
    }
    KernelTablePoints.of(s, host, labels, time, points);
    if (s.hasHealth()) {
      var h = s.getHealth();
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("seq", report.getSeq());
      f.put("wall_micros", h.getWallMicros());
      f.put("cpu_micros", h.getCpuMicros());
      if (h.hasRssBytes()) f.put("rss_bytes", h.getRssBytes());
      f.put("dropped_reports", h.getDroppedReports());
      // Fields, not tags: an upgrade must not start a new series for every host it reaches.
      // Interned: a fleet runs a handful of builds, and the memory store keeps one per report.
      var id = s.getHost();
      if (id.hasAgentVersion()) f.put("agent_version", id.getAgentVersion().intern());
      if (id.hasAgentCommit()) f.put("agent_commit", id.getAgentCommit().intern());
      points.add(point(AGENT, tags(host, labels), f, time));
    }
    if (s.hasAgentTime()) {
      // The collector moved the sample onto its timeline (docs/clock.md): the agent's own time and
      // the offset it was moved by stay beside it, so no correction is ever invisible.
      Map<String, Object> f = new LinkedHashMap<>();
      var at = s.getAgentTime();
      f.put("agent_time_ms", at.getSeconds() * 1000 + at.getNanos() / 1_000_000);
      if (s.hasClockOffsetMs()) f.put("offset_ms", s.getClockOffsetMs());
      if (s.hasClockStepMs()) f.put("step_ms", s.getClockStepMs());
      points.add(point(CLOCK, tags(host), f, time));
    }
    return points;
  }

  /** Tag value of the {@code netns} measurement for the agent's own namespace. */
  public static final String HOST_NETNS = "_host";

  /** Tag value of the {@code netns} measurement for namespaces outside any Kubernetes pod. */
  public static final String NO_K8S_NAMESPACE = "_none";

  /**
   * The {@code netns} measurement: a host's network namespaces summed per Kubernetes namespace (the
   * agent's own apart as {@value #HOST_NETNS}, other containers as {@value #NO_K8S_NAMESPACE}),
   * with how many namespaces each sum covers. Per pod would be a series per pod, which churns; per
   * Kubernetes namespace is bounded by the cluster.
   */
  private static void netns(HostSample s, String host, Instant time, List<StoredPoint> points) {
    Map<String, long[]> sums = new TreeMap<>();
    for (var ns : s.getTcp().getNamespacesList()) {
      if (!ns.hasCounts()) continue;
      String key =
          ns.getHost()
              ? HOST_NETNS
              : ns.getOwner().hasPodNamespace()
                  ? TagValues.safe(ns.getOwner().getPodNamespace())
                  : NO_K8S_NAMESPACE;
      long[] sum = sums.computeIfAbsent(key, k -> new long[TCP_FIELDS.size() + 1]);
      Map<String, Object> f = tcpFields(ns.getCounts());
      for (int i = 0; i < TCP_FIELDS.size(); i++) sum[i] += (Long) f.get(TCP_FIELDS.get(i));
      sum[TCP_FIELDS.size()]++;
    }
    for (var e : sums.entrySet()) {
      Map<String, Object> f = new LinkedHashMap<>();
      for (int i = 0; i < TCP_FIELDS.size(); i++) f.put(TCP_FIELDS.get(i), e.getValue()[i]);
      f.put("namespaces", e.getValue()[TCP_FIELDS.size()]);
      points.add(point(NETNS, tags(host, "namespace", e.getKey()), f, time));
    }
  }

  private static void identityFields(ProcessIdentity id, Map<String, Object> f) {
    if (id.hasPodName()) f.put("pod", id.getPodName());
    if (id.hasContainerName()) f.put("container", id.getContainerName());
    if (id.hasContainerId()) f.put("container_id", id.getContainerId());
    if (id.hasSystemdUnit()) f.put("unit", id.getSystemdUnit());
  }

  /** The report's host labels, tag-safe. */
  public static Map<String, String> hostLabels(HostSample s) {
    Map<String, String> out = new TreeMap<>();
    s.getHost().getLabelsMap().forEach((k, v) -> out.put(k, TagValues.safe(v)));
    return out;
  }

  /** The {@code tcp} measurement's fields: every state's count, by field name. */
  public static Map<String, Object> tcpFields(TcpStateCounts c) {
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("established", c.getEstablished());
    f.put("syn_sent", c.getSynSent());
    f.put("syn_recv", c.getSynRecv());
    f.put("fin_wait1", c.getFinWait1());
    f.put("fin_wait2", c.getFinWait2());
    f.put("time_wait", c.getTimeWait());
    f.put("close", c.getClose());
    f.put("close_wait", c.getCloseWait());
    f.put("last_ack", c.getLastAck());
    f.put("listen", c.getListen());
    f.put("closing", c.getClosing());
    return f;
  }

  /** A sysctl's value as a number when it is one ("1", "65535"), for graphs and comparisons. */
  static Double numeric(String value) {
    String v = value.strip();
    if (v.isEmpty() || v.length() > 20) return null;
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (!(c >= '0' && c <= '9') && !(i == 0 && c == '-')) return null;
    }
    try {
      return (double) Long.parseLong(v);
    } catch (NumberFormatException e) {
      return null; // all digits but out of range: keep the string only
    }
  }

  /** The {@code netns} and {@code conntrack} measurements' namespace tag of one namespace. */
  static String namespaceTag(io.handlewatch.proto.v1.NamespaceSockets ns) {
    return ns.getHost()
        ? HOST_NETNS
        : ns.getOwner().hasPodNamespace()
            ? TagValues.safe(ns.getOwner().getPodNamespace())
            : NO_K8S_NAMESPACE;
  }

  static TreeMap<String, String> tags(String host, Map<String, String> labels) {
    TreeMap<String, String> t = new TreeMap<>(labels);
    t.put(StorageSchema.HOST, host);
    return t;
  }

  static TreeMap<String, String> tags(String host, String... kv) {
    TreeMap<String, String> t = new TreeMap<>();
    t.put(StorageSchema.HOST, host);
    for (int i = 0; i < kv.length; i += 2) t.put(kv[i], kv[i + 1]);
    return t;
  }

  private static StoredPoint point(
      Measurement measurement,
      TreeMap<String, String> tags,
      Map<String, Object> fields,
      Instant t) {
    return new StoredPoint(measurement.name(), tags, fields, t);
  }
}
