package io.handlewatch.collector.detect;

import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.TcpCounters;
import java.util.HashMap;
import java.util.Map;

/**
 * One host's kernel tables as the detector keeps them, beside its {@link HostWindow}: a {@link
 * SeriesWindow} each for conntrack entries (the host's, and the fullest few other namespaces'),
 * orphaned sockets and TCP memory pages, the listeners' accept and SYN queues sample by sample, and
 * the newest ListenOverflows and SYN counters of each namespace. What the agent did not send is not
 * added: absent, never zero.
 */
final class KernelTableWindow {
  /** One listening socket for its lifetime: address, owning pid, namespace (0: the host's). */
  record ListenerKey(String local, int pid, long netns) {}

  /** A listener's recent samples: how full its queue was, and since when it has been full. */
  static final class ListenerState {
    String comm;
    ProcessIdentity identity;
    long queue;
    long backlog;
    long lastMs;

    /** One bit per sample of the host since the listener was first seen, newest lowest: full. */
    long fullBits;

    /** Samples of the host since the listener was first seen (capped at 64, the bits kept). */
    int samples;

    /** Samples in a row, up to the newest, in which the queue was full. */
    int consecutiveFull;

    /** Where the current run of full samples began: time and the overflow counter just before. */
    long runStartMs;

    double overflowsAtRunStart = Double.NaN;

    /** Its SYN_RECV request sockets, and the SYN queue's cap, at the newest sample (0: unknown). */
    long synRecv;

    long synCap;

    /** Samples in a row, up to the newest, in which the SYN queue was at its cap. */
    int consecutiveSynFull;

    /** Where the current run of full SYN-queue samples began, and the SYN counters before it. */
    long synRunStartMs;

    double[] synCountersAtRunStart;

    int fullOf(int lastSamples) {
      int n = Math.min(lastSamples, Math.min(samples, 64));
      long mask = n >= 64 ? -1L : (1L << n) - 1;
      return Long.bitCount(fullBits & mask);
    }
  }

  final SeriesWindow conntrack;
  final SeriesWindow orphans;
  final SeriesWindow tcpMemPages;
  double conntrackMax = Double.NaN;

  /** The newest sample's counters, per namespace inode (0: the host's own). */
  final Map<Long, double[]> overflows = new HashMap<>(); // {value, timeMs}

  /**
   * The newest sample's SYN counters per namespace inode, for namespaces with a listener that has
   * requests waiting: {syncookies sent, SYNs dropped (TCPReqQFullDrop plus ListenDrops not counted
   * as ListenOverflows), timeMs}; NaN where unread.
   */
  final Map<Long, double[]> synCounters = new HashMap<>();

  final Map<ListenerKey, ListenerState> listeners = new HashMap<>();

  /** Connection tracking of one namespace besides the host's, and who lives in it. */
  static final class NamespaceTable {
    final SeriesWindow conntrack;
    String subject;
    ProcessIdentity owner;
    String name;
    double max = Double.NaN;
    long lastMs;

    NamespaceTable(int buckets) {
      conntrack = new SeriesWindow(buckets);
    }
  }

  /**
   * Conntrack of the other namespaces, by inode: the kernel keeps a count per namespace, each
   * checked against the one global nf_conntrack_max. At most {@link #MAX_NAMESPACES}, fullest kept.
   */
  final Map<Long, NamespaceTable> namespaces = new HashMap<>();

  /**
   * Namespaces with conntrack kept per host. A pod's namespace tracks only what rules in it ask
   * for; a handful of busy ones is what can fill a table, and each costs a window.
   */
  static final int MAX_NAMESPACES = 8;

  /** The host's TCP sockets but listeners (the flows conntrack tracks), and their sample's time. */
  double tcpFlows;

  long tcpFlowsMs = Long.MIN_VALUE;

  /** Time of the newest sample added. */
  long lastMs = Long.MIN_VALUE;

  private final int buckets;

  KernelTableWindow(int buckets) {
    this.buckets = buckets;
    conntrack = new SeriesWindow(buckets);
    orphans = new SeriesWindow(buckets);
    tcpMemPages = new SeriesWindow(buckets);
  }

  /**
   * Adds one sample; a late one (older than the newest) only fills the series. {@code sysctls} are
   * the host's newest known (tcp_syncookies, tcp_max_syn_backlog bound the SYN queues).
   */
  void add(HostSample s, long timeMs, long bucket, Map<String, String> sysctls) {
    boolean late = lastMs != Long.MIN_VALUE && timeMs < lastMs;
    Double hostConntrack = null;
    if (s.hasConntrack() && s.getConntrack().hasCount()) {
      hostConntrack = (double) s.getConntrack().getCount();
      if (s.getConntrack().hasMax()) conntrackMax = s.getConntrack().getMax();
    } else {
      for (NamespaceSockets ns : s.getTcp().getNamespacesList()) {
        if (ns.getHost() && ns.hasConntrack() && ns.getConntrack().hasCount()) {
          hostConntrack = (double) ns.getConntrack().getCount();
          if (ns.getConntrack().hasMax()) conntrackMax = ns.getConntrack().getMax();
        }
      }
    }
    if (hostConntrack != null) conntrack.add(bucket, timeMs, hostConntrack);
    namespaceConntrack(s, timeMs, bucket);
    if (s.hasSockstat()) {
      if (s.getSockstat().hasTcpOrphan())
        orphans.add(bucket, timeMs, s.getSockstat().getTcpOrphan());
      if (s.getSockstat().hasTcpMemPages()) {
        tcpMemPages.add(bucket, timeMs, s.getSockstat().getTcpMemPages());
      }
    }
    if (late) return;
    lastMs = timeMs;
    if (s.hasTcp() && s.getTcp().hasTotal()) {
      var c = s.getTcp().getTotal();
      tcpFlows =
          c.getEstablished()
              + c.getSynSent()
              + c.getSynRecv()
              + c.getFinWait1()
              + c.getFinWait2()
              + c.getTimeWait()
              + c.getCloseWait()
              + c.getLastAck()
              + c.getClosing();
      tcpFlowsMs = timeMs;
    }

    Map<Long, Double> counters = new HashMap<>();
    Map<Long, double[]> syn = new HashMap<>();
    if (s.hasTcpCounters() && s.getTcpCounters().hasListenOverflows()) {
      counters.put(0L, (double) s.getTcpCounters().getListenOverflows());
    }
    if (s.hasTcpCounters()) syn.put(0L, synCounters(s.getTcpCounters(), timeMs));
    for (NamespaceSockets ns : s.getTcp().getNamespacesList()) {
      if (ns.hasTcpCounters() && ns.getTcpCounters().hasListenOverflows()) {
        double v = ns.getTcpCounters().getListenOverflows();
        counters.put(ns.getHost() ? 0L : ns.getInode(), v);
        if (ns.getHost()) counters.putIfAbsent(ns.getInode(), v);
      }
      if (ns.hasTcpCounters()) {
        double[] v = synCounters(ns.getTcpCounters(), timeMs);
        syn.put(ns.getHost() ? 0L : ns.getInode(), v);
        if (ns.getHost()) syn.putIfAbsent(ns.getInode(), v);
      }
    }
    if (s.hasListenQueues()) {
      Map<ListenerKey, Listener> present = new HashMap<>();
      for (Listener l : s.getListenQueues().getListenersList()) {
        present.put(new ListenerKey(l.getLocal(), l.hasPid() ? l.getPid() : -1, l.getNetns()), l);
      }
      for (var e : present.entrySet()) {
        listeners.computeIfAbsent(e.getKey(), k -> new ListenerState());
      }
      for (var e : listeners.entrySet()) {
        ListenerState st = e.getValue();
        Listener l = present.get(e.getKey());
        boolean full = l != null && l.getBacklog() > 0 && l.getQueue() >= l.getBacklog();
        st.fullBits = (st.fullBits << 1) | (full ? 1 : 0);
        st.samples = Math.min(64, st.samples + 1);
        if (l == null) {
          st.consecutiveFull = 0;
          st.consecutiveSynFull = 0;
          continue;
        }
        st.synRecv = l.getSynRecv();
        st.synCap =
            KernelLimits.synQueueCap(
                l.getBacklog(),
                sysctls.get(KernelTableRule.SYNCOOKIES),
                sysctls.get(KernelTableRule.MAX_SYN_BACKLOG));
        if (st.synCap <= 0 || st.synRecv < st.synCap) {
          st.consecutiveSynFull = 0;
        } else if (st.consecutiveSynFull++ == 0) {
          // Like the accept queue's: the run's counters count from the sample before it.
          double[] before = synCounters.get(e.getKey().netns());
          double[] now = syn.get(e.getKey().netns());
          if (before != null) {
            st.synCountersAtRunStart = before;
            st.synRunStartMs = (long) before[2];
          } else {
            st.synCountersAtRunStart = now;
            st.synRunStartMs = timeMs;
          }
        }
        st.comm = l.hasComm() ? l.getComm() : "";
        st.identity = l.hasIdentity() ? l.getIdentity() : null;
        st.queue = l.getQueue();
        st.backlog = l.getBacklog();
        st.lastMs = timeMs;
        if (!full) {
          st.consecutiveFull = 0;
          continue;
        }
        if (st.consecutiveFull++ == 0) {
          // The run's overflows count from the sample before it, when that one is known.
          double[] before = overflows.get(e.getKey().netns());
          Double now = counters.get(e.getKey().netns());
          if (before != null) {
            st.overflowsAtRunStart = before[0];
            st.runStartMs = (long) before[1];
          } else {
            st.overflowsAtRunStart = now == null ? Double.NaN : now;
            st.runStartMs = timeMs;
          }
        }
      }
    }
    for (var e : counters.entrySet())
      overflows.put(e.getKey(), new double[] {e.getValue(), timeMs});
    // Kept only where a listener has requests waiting: a SYN queue's run counts from the sample
    // before it when that one had some, else from its own first full sample. A dense node's
    // hundreds of idle namespaces cost nothing here.
    java.util.Set<Long> pending = new java.util.HashSet<>();
    if (s.hasListenQueues()) {
      for (Listener l : s.getListenQueues().getListenersList()) {
        if (l.getSynRecv() > 0) pending.add(l.getNetns());
      }
    }
    synCounters.clear();
    for (var e : syn.entrySet()) {
      if (pending.contains(e.getKey())) synCounters.put(e.getKey(), e.getValue());
    }
  }

  /** {syncookies sent, SYNs dropped, timeMs}, NaN for what the agent did not read. */
  private static double[] synCounters(TcpCounters c, long timeMs) {
    double cookies = c.hasSyncookiesSent() ? c.getSyncookiesSent() : Double.NaN;
    double drops = Double.NaN;
    if (c.hasReqQFullDrop()) drops = c.getReqQFullDrop();
    if (c.hasListenDrops() && c.hasListenOverflows()) {
      // ListenDrops counts every SYN or ACK a listener dropped, overflows of the accept queue
      // included; what is left are SYNs refused for the SYN queue (or memory, or a bad packet).
      double other = Math.max(0, c.getListenDrops() - c.getListenOverflows());
      drops = Double.isNaN(drops) ? other : drops + other;
    }
    return new double[] {cookies, drops, timeMs};
  }

  /** The newest SYN counters of a listener's namespace; null when unknown at the newest sample. */
  double[] synCountersOf(ListenerKey key) {
    double[] v = synCounters.get(key.netns());
    return v == null || (long) v[2] != lastMs ? null : v;
  }

  /** Adds each non-host namespace's conntrack count, keeping the fullest few. */
  private void namespaceConntrack(HostSample s, long timeMs, long bucket) {
    for (NamespaceSockets ns : s.getTcp().getNamespacesList()) {
      if (ns.getHost() || !ns.hasConntrack() || !ns.getConntrack().hasCount()) continue;
      long count = ns.getConntrack().getCount();
      NamespaceTable t = namespaces.get(ns.getInode());
      if (t == null) {
        if (count == 0) continue;
        if (namespaces.size() >= MAX_NAMESPACES) {
          Long emptiest = null;
          double least = Double.MAX_VALUE;
          for (var e : namespaces.entrySet()) {
            double last = e.getValue().conntrack.last();
            if (last < least) {
              least = last;
              emptiest = e.getKey();
            }
          }
          if (emptiest == null || least >= count) continue;
          namespaces.remove(emptiest);
        }
        t = new NamespaceTable(buckets);
        namespaces.put(ns.getInode(), t);
      }
      t.conntrack.add(bucket, timeMs, count);
      if (timeMs >= t.lastMs) {
        t.lastMs = timeMs;
        t.subject = KernelLimits.namespaceSubject(ns);
        t.owner = ns.hasOwner() ? ns.getOwner() : null;
        t.name = ns.hasName() ? ns.getName() : null;
        if (ns.getConntrack().hasMax()) t.max = ns.getConntrack().getMax();
      }
    }
  }

  /** The newest ListenOverflows counter of a listener's namespace; NaN when unknown. */
  double overflowsOf(ListenerKey key) {
    double[] v = overflows.get(key.netns());
    return v == null || (long) v[1] != lastMs ? Double.NaN : v[0];
  }

  /** Forgets listeners with no sample since {@code beforeMs}. */
  void forgetOlderThan(long beforeMs) {
    listeners.values().removeIf(l -> l.lastMs < beforeMs);
    overflows.values().removeIf(v -> v[1] < beforeMs);
    synCounters.values().removeIf(v -> v[2] < beforeMs);
    namespaces.values().removeIf(n -> n.lastMs < beforeMs);
  }
}
