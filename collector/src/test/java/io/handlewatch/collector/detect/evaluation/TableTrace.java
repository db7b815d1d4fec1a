package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.collector.detect.evaluation.TraceGenerator.Curve;
import io.handlewatch.proto.v1.Conntrack;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ListenQueues;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpCounters;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The kernel tables of a host over time, laid over a {@link TraceGenerator}'s reports (which keep
 * their own random sequence): conntrack entries, orphans and TCP memory pages as curves against
 * their limits, listeners whose accept queue follows a curve, and ListenOverflows that rise while a
 * queue is full. The limits travel as sysctls in the reports that carry sysctls.
 */
public final class TableTrace {
  /**
   * A listener: its accept queue over time (capped at the backlog, as the kernel caps it) and the
   * connections dropped per minute while it is full.
   */
  public record Listen(
      String local, int pid, String comm, long backlog, Curve queue, double overflowsPerMin) {}

  public Curve conntrack = Curve.constant(20_000);
  public long conntrackMax = 262_144;
  public Curve orphans = Curve.constant(40);
  public long maxOrphans = 65_536;
  public Curve memPages = Curve.constant(3_000);
  public String tcpMem = "188067 250758 376134";
  public long somaxconn = 4096;
  public long maxSynBacklog = 4096;
  public final List<Listen> listeners = new ArrayList<>();

  /** net.ipv4.tcp_syncookies: "1" answers SYNs beyond a full SYN queue with cookies, "0" drops. */
  public String syncookies = "1";

  /**
   * SYN_RECV request sockets per listener (by its local address) over time, capped at the SYN
   * queue's cap as the kernel caps them; while at the cap, SYNs are refused at {@link
   * #synRefusedPerMin} (counted as syncookies sent, or TCPReqQFullDrop with syncookies off).
   */
  public final Map<String, Curve> synRecv = new LinkedHashMap<>();

  public double synRefusedPerMin = 300;

  /** Conntrack entries of other network namespaces over time, by name, owned by pod NAME. */
  public final Map<String, Curve> namespaceConntrack = new LinkedHashMap<>();

  public TableTrace syn(String local, Curve curve) {
    synRecv.put(local, curve);
    return this;
  }

  public TableTrace listen(Listen l) {
    listeners.add(l);
    return this;
  }

  /** {@code reports} (every 10 s from {@code start}) with the tables laid over them. */
  public List<HostReport> apply(List<HostReport> reports, Instant start, long seed) {
    Random rng = new Random(seed * 31 + 7);
    List<HostReport> out = new ArrayList<>(reports.size());
    double overflows = 1_000;
    double cookies = 500;
    double synDrops = 20;
    for (HostReport r : reports) {
      var s = r.getSample().toBuilder();
      Instant t = Instant.ofEpochSecond(s.getTime().getSeconds(), s.getTime().getNanos());
      double minute = (t.toEpochMilli() - start.toEpochMilli()) / 60_000.0;
      s.setConntrack(
          Conntrack.newBuilder()
              .setCount(Math.max(0, Math.round(conntrack.at(minute, rng))))
              .setMax(conntrackMax)
              .setBuckets(conntrackMax / 4));
      s.getSockstatBuilder()
          .setTcpOrphan(Math.max(0, Math.round(orphans.at(minute, rng))))
          .setTcpMemPages(Math.max(0, Math.round(memPages.at(minute, rng))));
      ListenQueues.Builder lq = ListenQueues.newBuilder();
      for (Listen l : listeners) {
        long q = Math.min(l.backlog(), Math.max(0, Math.round(l.queue().at(minute, rng))));
        if (q >= l.backlog()) overflows += l.overflowsPerMin() / 6;
        long syn = 0;
        Curve synCurve = synRecv.get(l.local());
        if (synCurve != null) {
          long cap =
              syncookies.equals("0")
                  ? Math.min(l.backlog(), maxSynBacklog - (maxSynBacklog >> 2) + 1)
                  : l.backlog();
          syn = Math.min(cap, Math.max(0, Math.round(synCurve.at(minute, rng))));
          if (syn >= cap) {
            if (syncookies.equals("0")) synDrops += synRefusedPerMin / 6;
            else cookies += synRefusedPerMin / 6;
          }
        }
        lq.addListeners(
            Listener.newBuilder()
                .setLocal(l.local())
                .setQueue(q)
                .setBacklog(l.backlog())
                .setSynRecv(syn)
                .setPid(l.pid())
                .setComm(l.comm()));
      }
      lq.setListenersTotal(listeners.size() + 10);
      s.setListenQueues(lq);
      s.setTcpCounters(
          TcpCounters.newBuilder()
              .setListenOverflows(Math.round(overflows))
              .setListenDrops(Math.round(overflows) + 5)
              .setSyncookiesSent(Math.round(cookies))
              .setReqQFullDrop(Math.round(synDrops)));
      long inode = 4026532100L;
      for (var e : namespaceConntrack.entrySet()) {
        s.getTcpBuilder()
            .addNamespaces(
                NamespaceSockets.newBuilder()
                    .setInode(inode++)
                    .setName(e.getKey())
                    .setProcesses(3)
                    .setOwner(
                        ProcessIdentity.newBuilder()
                            .setCgroup("/kubepods/pod-" + e.getKey())
                            .setPodNamespace("shop")
                            .setPodName(e.getKey()))
                    .setConntrack(
                        Conntrack.newBuilder()
                            .setCount(Math.max(0, Math.round(e.getValue().at(minute, rng))))
                            .setMax(conntrackMax)));
      }
      if (s.getSysctlsCount() > 0) {
        sysctl(s, "net.ipv4.tcp_max_orphans", Long.toString(maxOrphans));
        sysctl(s, "net.ipv4.tcp_mem", tcpMem);
        sysctl(s, "net.netfilter.nf_conntrack_max", Long.toString(conntrackMax));
        sysctl(s, "net.ipv4.tcp_max_syn_backlog", Long.toString(maxSynBacklog));
        sysctl(s, "net.ipv4.tcp_syncookies", syncookies);
        for (int i = 0; i < s.getSysctlsCount(); i++) {
          if (s.getSysctls(i).getName().equals("net.core.somaxconn")) {
            s.setSysctls(i, s.getSysctls(i).toBuilder().setValue(Long.toString(somaxconn)));
          }
        }
      }
      out.add(r.toBuilder().setSample(s).build());
    }
    return out;
  }

  private static void sysctl(
      io.handlewatch.proto.v1.HostSample.Builder s, String name, String value) {
    s.addSysctls(Sysctl.newBuilder().setName(name).setValue(value));
  }
}
