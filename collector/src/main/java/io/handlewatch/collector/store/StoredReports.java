package io.handlewatch.collector.store;

import io.handlewatch.proto.v1.Conntrack;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.FileHandles;
import io.handlewatch.proto.v1.HostIdentity;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.PortPressure;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.Sockstat;
import io.handlewatch.proto.v1.TcpCounters;
import io.handlewatch.proto.v1.TcpSockets;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The inverse of {@link ReportPoints} for what detection reads: a host's stored points (from {@link
 * SampleStore#history}) grouped back into one report per sample time, so a collector that gains a
 * host rebuilds its detection window exactly as if it had received the reports itself. Only the
 * measurements in {@link #MEASUREMENTS} are read back; what the schema does not keep (sysctls come
 * with the first report of every stream; the TCP states a process holds beyond CLOSE_WAIT,
 * ESTABLISHED and TIME_WAIT) is absent, and a report's newest figures replace them anyway.
 */
public final class StoredReports {
  private StoredReports() {}

  /** The measurements a detection window is rebuilt from. */
  public static final Set<String> MEASUREMENTS =
      Set.of(
          StorageSchema.TCP.name(),
          StorageSchema.FD.name(),
          StorageSchema.PROCESS.name(),
          StorageSchema.CLOSE_WAIT_PEER.name(),
          StorageSchema.PORT_PRESSURE.name(),
          StorageSchema.SOCKSTAT.name(),
          StorageSchema.CONNTRACK.name(),
          StorageSchema.TCP_COUNTERS.name(),
          StorageSchema.LISTENER.name());

  /** One process in one report, keyed as its series are: pid and comm tags. */
  private record ProcessTags(String pid, String comm) {}

  /**
   * The reports of {@code host} that {@code points} make, oldest first (seq 0: not known). Points
   * of other measurements, and points whose tags do not parse, are skipped.
   */
  public static List<HostReport> of(String host, List<StoredPoint> points) {
    Map<Instant, List<StoredPoint>> byTime = new TreeMap<>();
    for (StoredPoint p : points) {
      if (MEASUREMENTS.contains(p.measurement())) {
        byTime.computeIfAbsent(p.time(), t -> new ArrayList<>()).add(p);
      }
    }
    List<HostReport> out = new ArrayList<>(byTime.size());
    for (var e : byTime.entrySet()) {
      out.add(HostReport.newBuilder().setSample(sample(host, e.getKey(), e.getValue())).build());
    }
    return out;
  }

  private static HostSample sample(String host, Instant time, List<StoredPoint> points) {
    HostSample.Builder s =
        HostSample.newBuilder()
            .setTime(
                com.google.protobuf.Timestamp.newBuilder()
                    .setSeconds(time.getEpochSecond())
                    .setNanos(time.getNano()))
            .setHost(HostIdentity.newBuilder().setHostname(host));
    Map<ProcessTags, ProcessSample.Builder> processes = new LinkedHashMap<>();
    Map<ProcessTags, List<EndpointCount>> peers = new LinkedHashMap<>();
    PortPressure.Builder ports = null;
    for (StoredPoint p : points) {
      Map<String, Object> f = p.fields();
      switch (p.measurement()) {
        case "tcp" -> s.setTcp(TcpSockets.newBuilder().setTotal(tcp(f)));
        case "fd" -> s.setFileHandles(fileHandles(f));
        case "process" -> {
          ProcessTags key = new ProcessTags(p.tags().get("pid"), p.tags().get("comm"));
          ProcessSample.Builder b = process(processes, key);
          if (b != null) fillProcess(b, f);
        }
        case "close_wait_peer" -> {
          Long count = number(f, "count");
          String remote = p.tags().get("remote");
          if (count == null || remote == null) continue;
          ProcessTags key = new ProcessTags(p.tags().get("pid"), p.tags().get("comm"));
          if (process(processes, key) == null) continue;
          peers
              .computeIfAbsent(key, k -> new ArrayList<>())
              .add(EndpointCount.newBuilder().setEndpoint(remote).setCount(count).build());
        }
        case "port_pressure" -> {
          String remote = p.tags().get("remote");
          Long inUse = number(f, "in_use");
          if (remote == null || inUse == null) continue;
          if (ports == null) ports = PortPressure.newBuilder();
          Long range = number(f, "range_size");
          if (range != null) ports.setRangeSize(range.intValue());
          Long tw = number(f, "time_wait");
          ports.addTop(
              PortPressureEntry.newBuilder()
                  .setRemote(remote)
                  .setInUse(inUse)
                  .setTimeWait(tw == null ? 0 : tw));
        }
        case "sockstat" -> s.setSockstat(sockstat(f));
        case "conntrack" -> {
          // The host's own table; other namespaces are sums the window does not judge.
          if (ReportPoints.HOST_NETNS.equals(p.tags().get("namespace"))) {
            s.setConntrack(conntrack(f));
          }
        }
        case "tcp_counters" -> s.setTcpCounters(tcpCounters(f));
        case "listener" -> {
          Listener l = listener(p.tags(), f);
          if (l != null) s.getListenQueuesBuilder().addListeners(l);
        }
        default -> {
          // not a measurement detection reads
        }
      }
    }
    for (var e : processes.entrySet()) {
      List<EndpointCount> mine = new ArrayList<>(peers.getOrDefault(e.getKey(), List.of()));
      mine.sort(Comparator.comparingLong(EndpointCount::getCount).reversed());
      s.addProcesses(e.getValue().addAllCloseWaitPeers(mine));
    }
    if (ports != null) s.setPortPressure(ports);
    return s.build();
  }

  /** The process of these tags in this report, made on first use; null when its pid is not one. */
  private static ProcessSample.Builder process(
      Map<ProcessTags, ProcessSample.Builder> processes, ProcessTags key) {
    ProcessSample.Builder b = processes.get(key);
    if (b != null) return b;
    int pid;
    try {
      pid = Integer.parseUnsignedInt(key.pid() == null ? "" : key.pid());
    } catch (NumberFormatException e) {
      return null;
    }
    b = ProcessSample.newBuilder().setPid(pid).setComm(key.comm() == null ? "" : key.comm());
    processes.put(key, b);
    return b;
  }

  private static void fillProcess(ProcessSample.Builder b, Map<String, Object> f) {
    Long v;
    if ((v = number(f, "fds")) != null) b.setFds(v);
    if ((v = number(f, "soft_limit")) != null) b.setSoftLimit(v);
    if ((v = number(f, "hard_limit")) != null) b.setHardLimit(v);
    if ((v = number(f, "start_ticks")) != null) b.setStartTicks(v);
    if (f.get("used_ratio") instanceof Number r) b.setUsedRatio(r.doubleValue());
    Long cw = number(f, "close_wait");
    if (cw != null) {
      TcpStateCounts.Builder c = TcpStateCounts.newBuilder().setCloseWait(cw);
      if ((v = number(f, "established")) != null) c.setEstablished(v);
      if ((v = number(f, "time_wait")) != null) c.setTimeWait(v);
      b.setSockets(c);
    }
  }

  private static TcpStateCounts tcp(Map<String, Object> f) {
    TcpStateCounts.Builder c = TcpStateCounts.newBuilder();
    long[] v = new long[ReportPoints.TCP_FIELDS.size()];
    for (int i = 0; i < v.length; i++) {
      Long n = number(f, ReportPoints.TCP_FIELDS.get(i));
      v[i] = n == null ? 0 : n;
    }
    return c.setEstablished(v[0])
        .setSynSent(v[1])
        .setSynRecv(v[2])
        .setFinWait1(v[3])
        .setFinWait2(v[4])
        .setTimeWait(v[5])
        .setClose(v[6])
        .setCloseWait(v[7])
        .setLastAck(v[8])
        .setListen(v[9])
        .setClosing(v[10])
        .build();
  }

  private static FileHandles fileHandles(Map<String, Object> f) {
    FileHandles.Builder b = FileHandles.newBuilder();
    Long v;
    if ((v = number(f, "allocated")) != null) b.setAllocated(v);
    if ((v = number(f, "max")) != null) b.setMax(v);
    if ((v = number(f, "nr_open")) != null) b.setNrOpen(v);
    if (f.get("used_ratio") instanceof Number r) b.setUsedRatio(r.doubleValue());
    return b.build();
  }

  private static Sockstat sockstat(Map<String, Object> f) {
    Sockstat.Builder b = Sockstat.newBuilder();
    Long v;
    if ((v = number(f, "inuse")) != null) b.setTcpInuse(v);
    if ((v = number(f, "orphan")) != null) b.setTcpOrphan(v);
    if ((v = number(f, "tw")) != null) b.setTcpTw(v);
    if ((v = number(f, "alloc")) != null) b.setTcpAlloc(v);
    if ((v = number(f, "mem")) != null) b.setTcpMemPages(v);
    return b.build();
  }

  private static Conntrack conntrack(Map<String, Object> f) {
    Conntrack.Builder b = Conntrack.newBuilder();
    Long v;
    if ((v = number(f, "count")) != null) b.setCount(v);
    if ((v = number(f, "max")) != null) b.setMax(v);
    if ((v = number(f, "buckets")) != null) b.setBuckets(v);
    return b.build();
  }

  private static TcpCounters tcpCounters(Map<String, Object> f) {
    TcpCounters.Builder b = TcpCounters.newBuilder();
    Long v;
    if ((v = number(f, "listen_overflows")) != null) b.setListenOverflows(v);
    if ((v = number(f, "listen_drops")) != null) b.setListenDrops(v);
    if ((v = number(f, "abort_on_memory")) != null) b.setAbortOnMemory(v);
    if ((v = number(f, "abort_on_timeout")) != null) b.setAbortOnTimeout(v);
    if ((v = number(f, "retrans_segs")) != null) b.setRetransSegs(v);
    if ((v = number(f, "out_segs")) != null) b.setOutSegs(v);
    if ((v = number(f, "attempt_fails")) != null) b.setAttemptFails(v);
    if ((v = number(f, "estab_resets")) != null) b.setEstabResets(v);
    if ((v = number(f, "req_q_full_drop")) != null) b.setReqQFullDrop(v);
    if ((v = number(f, "syncookies_sent")) != null) b.setSyncookiesSent(v);
    return b.build();
  }

  /** A stored listener (the fullest of its series); null without its address or queue. */
  private static Listener listener(Map<String, String> tags, Map<String, Object> f) {
    String local = tags.get("local");
    Long queue = number(f, "queue");
    Long backlog = number(f, "backlog");
    if (local == null || queue == null || backlog == null) return null;
    Listener.Builder b = Listener.newBuilder().setLocal(local).setQueue(queue).setBacklog(backlog);
    Long v;
    if ((v = number(f, "syn_recv")) != null) b.setSynRecv(v);
    if ((v = number(f, "pid")) != null) b.setPid(v.intValue());
    String comm = tags.get("comm");
    if (comm != null && !comm.equals("-")) b.setComm(comm);
    String ns = tags.get("namespace");
    if (ns != null) {
      b.setIdentity(ProcessIdentity.newBuilder().setCgroup("").setPodNamespace(ns));
    }
    return b.build();
  }

  /** A count field as a long; null when absent or not a number. */
  private static Long number(Map<String, Object> f, String name) {
    return f.get(name) instanceof Number n && !Double.isNaN(n.doubleValue())
        ? Math.round(n.doubleValue())
        : null;
  }
}
