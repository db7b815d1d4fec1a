package io.handlewatch.collector.store;

import io.handlewatch.proto.v1.Conntrack;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.TcpCounters;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The kernel tables' part of the storage schema (docs/storage.md): {@code conntrack} per host and
 * per Kubernetes namespace, the host's cumulative {@code tcp_counters}, and {@code listener}s with
 * their accept queues. Orphans and TCP memory are in {@code sockstat} already.
 */
final class KernelTablePoints {
  private KernelTablePoints() {}

  /** The {@code tcp_counters} fields, in {@link TcpCounters} order. */
  static final List<String> TCP_COUNTER_FIELDS =
      List.of(
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

  static void of(
      HostSample s,
      String host,
      Map<String, String> labels,
      Instant time,
      List<StoredPoint> points) {
    conntrack(s, host, time, points);
    if (s.hasTcpCounters()) {
      Map<String, Object> f = tcpCounterFields(s.getTcpCounters());
      if (!f.isEmpty()) points.add(point("tcp_counters", ReportPoints.tags(host, labels), f, time));
    }
    if (s.hasListenQueues()) listeners(s, host, time, points);
  }

  /** Every counter the agent read, by field name; absent columns stay absent. */
  static Map<String, Object> tcpCounterFields(TcpCounters c) {
    Map<String, Object> f = new LinkedHashMap<>();
    if (c.hasListenOverflows()) f.put("listen_overflows", c.getListenOverflows());
    if (c.hasListenDrops()) f.put("listen_drops", c.getListenDrops());
    if (c.hasAbortOnMemory()) f.put("abort_on_memory", c.getAbortOnMemory());
    if (c.hasAbortOnTimeout()) f.put("abort_on_timeout", c.getAbortOnTimeout());
    if (c.hasRetransSegs()) f.put("retrans_segs", c.getRetransSegs());
    if (c.hasOutSegs()) f.put("out_segs", c.getOutSegs());
    if (c.hasAttemptFails()) f.put("attempt_fails", c.getAttemptFails());
    if (c.hasEstabResets()) f.put("estab_resets", c.getEstabResets());
    if (c.hasReqQFullDrop()) f.put("req_q_full_drop", c.getReqQFullDrop());
    if (c.hasSyncookiesSent()) f.put("syncookies_sent", c.getSyncookiesSent());
    return f;
  }

  /**
   * One point per namespace tag, like {@code netns}: the agent's own namespace as {@value
   * ReportPoints#HOST_NETNS} (from the sample's own figure, else its namespace entry), the others
   * summed per Kubernetes namespace. {@code max} is one host-wide limit, so the largest seen is
   * kept, not a sum.
   */
  private static void conntrack(HostSample s, String host, Instant time, List<StoredPoint> points) {
    // count, max (-1 unknown), buckets, namespaces, fullest (-1 unknown)
    Map<String, long[]> sums = new TreeMap<>();
    boolean hostDone = false;
    if (s.hasConntrack()) {
      add(sums, ReportPoints.HOST_NETNS, s.getConntrack());
      hostDone = true;
    }
    for (NamespaceSockets ns : s.getTcp().getNamespacesList()) {
      if (!ns.hasConntrack() || (ns.getHost() && hostDone)) continue;
      add(sums, ReportPoints.namespaceTag(ns), ns.getConntrack());
    }
    for (var e : sums.entrySet()) {
      long[] v = e.getValue();
      Map<String, Object> f = new LinkedHashMap<>();
      if (v[0] >= 0) f.put("count", v[0]);
      // The kernel holds each namespace's own count to the limit, not their sum: the fullest one
      // is what runs out first.
      if (v[4] >= 0) f.put("fullest", v[4]);
      if (v[1] >= 0) f.put("max", v[1]);
      if (v[2] >= 0) f.put("buckets", v[2]);
      if (f.isEmpty()) continue;
      f.put("namespaces", v[3]);
      points.add(point("conntrack", ReportPoints.tags(host, "namespace", e.getKey()), f, time));
    }
  }

  private static void add(Map<String, long[]> sums, String key, Conntrack c) {
    long[] v = sums.computeIfAbsent(key, k -> new long[] {-1, -1, -1, 0, -1});
    if (c.hasCount()) v[0] = Math.max(v[0], 0) + c.getCount();
    if (c.hasCount()) v[4] = Math.max(v[4], c.getCount());
    if (c.hasMax()) v[1] = Math.max(v[1], c.getMax());
    if (c.hasBuckets()) v[2] = Math.max(v[2], c.getBuckets());
    v[3]++;
  }

  /** One listener series, as the tags name it. */
  private record ListenerKey(String local, String comm, String namespace) {}

  /**
   * One point per (listening address, comm, Kubernetes namespace): listeners that share all three
   * (replicas of one pod on a node, SO_REUSEPORT workers) are one series holding the fullest queue,
   * so they do not overwrite each other at one timestamp. Pids restart and pods churn: the pid and
   * netns inode of the fullest are fields, never tags.
   */
  private static void listeners(HostSample s, String host, Instant time, List<StoredPoint> points) {
    Map<ListenerKey, Map<String, Object>> out = new LinkedHashMap<>();
    for (Listener l : s.getListenQueues().getListenersList()) {
      String ns =
          l.getIdentity().hasPodNamespace()
              ? TagValues.safe(l.getIdentity().getPodNamespace())
              : null;
      ListenerKey key =
          new ListenerKey(
              TagValues.safe(l.getLocal()), TagValues.safe(l.hasComm() ? l.getComm() : ""), ns);
      Map<String, Object> f = out.get(key);
      if (f == null) {
        f = new LinkedHashMap<>();
        fill(f, l);
        f.put("syn_recv", l.getSynRecv());
        f.put("listeners", 1L);
        out.put(key, f);
        continue;
      }
      f.put("syn_recv", (Long) f.get("syn_recv") + l.getSynRecv());
      f.put("listeners", (Long) f.get("listeners") + 1);
      if (fullness(l) > fullness((Long) f.get("queue"), (Long) f.get("backlog"))) fill(f, l);
    }
    for (var e : out.entrySet()) {
      ListenerKey k = e.getKey();
      TreeMap<String, String> t = ReportPoints.tags(host, "local", k.local(), "comm", k.comm());
      if (k.namespace() != null) t.put("namespace", k.namespace());
      points.add(point("listener", t, e.getValue(), time));
    }
  }

  private static void fill(Map<String, Object> f, Listener l) {
    f.put("queue", l.getQueue());
    f.put("backlog", l.getBacklog());
    if (l.hasPid()) f.put("pid", (long) l.getPid());
    else f.remove("pid");
  }

  private static double fullness(Listener l) {
    return fullness(l.getQueue(), l.getBacklog());
  }

  private static double fullness(long queue, long backlog) {
    return backlog == 0 ? queue : (double) queue / backlog;
  }

  private static StoredPoint point(
      String measurement, TreeMap<String, String> tags, Map<String, Object> fields, Instant t) {
    return new StoredPoint(measurement, tags, fields, t);
  }
}
