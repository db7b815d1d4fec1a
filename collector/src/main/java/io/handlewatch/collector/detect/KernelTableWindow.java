package io.handlewatch.collector.detect;

import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.ProcessIdentity;
import java.util.HashMap;
import java.util.Map;

/**
 * One host's kernel tables as the detector keeps them, beside its {@link HostWindow}: a {@link
 * SeriesWindow} each for conntrack entries, orphaned sockets and TCP memory pages, the listeners'
 * accept queues sample by sample, and the newest ListenOverflows counter of each namespace. What
 * the agent did not send is not added: absent, never zero.
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

  final Map<ListenerKey, ListenerState> listeners = new HashMap<>();

  /** The host's TCP sockets but listeners (the flows conntrack tracks), and their sample's time. */
  double tcpFlows;

  long tcpFlowsMs = Long.MIN_VALUE;

  /** Time of the newest sample added. */
  long lastMs = Long.MIN_VALUE;

  KernelTableWindow(int buckets) {
    conntrack = new SeriesWindow(buckets);
    orphans = new SeriesWindow(buckets);
    tcpMemPages = new SeriesWindow(buckets);
  }

  /** Adds one sample; a late one (older than the newest) only fills the series. */
  void add(HostSample s, long timeMs, long bucket) {
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
    if (s.hasTcpCounters() && s.getTcpCounters().hasListenOverflows()) {
      counters.put(0L, (double) s.getTcpCounters().getListenOverflows());
    }
    for (NamespaceSockets ns : s.getTcp().getNamespacesList()) {
      if (ns.hasTcpCounters() && ns.getTcpCounters().hasListenOverflows()) {
        double v = ns.getTcpCounters().getListenOverflows();
        counters.put(ns.getHost() ? 0L : ns.getInode(), v);
        if (ns.getHost()) counters.putIfAbsent(ns.getInode(), v);
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
          continue;
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
  }
}
