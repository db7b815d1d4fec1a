package io.handlewatch.collector.detect;

import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.Sysctl;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * One host's recent history as the detector keeps it: a {@link SeriesWindow} per value that can run
 * out (file handles, each sampled process's fds and CLOSE_WAIT, TIME_WAIT, ports per remote
 * endpoint) and the newest figures the findings need. What the agent could not read is simply not
 * added: absent, never zero.
 */
final class HostWindow {
  /** One remote endpoint's ephemeral-port use. */
  static final class PortWindow {
    final SeriesWindow inUse;
    double timeWait;
    long lastMs;

    PortWindow(int buckets) {
      inUse = new SeriesWindow(buckets);
    }
  }

  /** Identifies a process for its lifetime: pid and start time. */
  record ProcessKey(int pid, long startTicks) {}

  final String host;
  private final int buckets;
  final SeriesWindow systemFds;
  final SeriesWindow closeWait;
  final SeriesWindow timeWait;
  final Map<ProcessKey, ProcessWindow> processes = new HashMap<>();
  final Map<String, PortWindow> ports = new HashMap<>();
  double fileMax = Double.NaN;
  double portRange = Double.NaN;

  /** The newest known sysctls (reports carry them only when they change). */
  Map<String, String> sysctls = Map.of();

  long lastMs;
  long lastBucket;

  /**
   * The bucket of this window's first report: a process first seen later was seen from its start.
   */
  long firstBucket = Long.MIN_VALUE;

  /** The time of this window's first report: a process first seen later was seen from its start. */
  long firstMs = Long.MIN_VALUE;

  /**
   * The newest sample's process walk: processes the agent could not read, sockets without owner.
   */
  long processesUnreadable;

  long socketsUnattributed = -1;

  /**
   * What each paging verdict grew from, by dedupKey, and how to read its value now: an incident
   * whose value is back at its baseline has been released and resolves at once.
   */
  final Map<String, Baseline> baselines = new HashMap<>();

  /**
   * @param level the value before the growth began
   * @param peak the highest value seen since
   * @param current the value now (0 once what it measures is gone, such as an exited process), read
   *     from the window it is given by key (a process's pid and start time, a listener, a remote
   *     endpoint), never through objects of the window the baseline was taken in: a window rebuilt
   *     under an open incident (a late warm-up) takes its baselines over and must read its own
   * @param holds whether handles left held keep the incident open (CLOSE_WAIT: no kernel setting
   *     ever frees them)
   */
  record Baseline(
      double level,
      double peak,
      java.util.function.ToDoubleFunction<HostWindow> current,
      boolean holds) {}

  /**
   * The value a baseline of process {@code p} reads in any window: {@code value} of the process
   * with its key there, 0 once it is gone or no longer sampled (exited).
   */
  static java.util.function.ToDoubleFunction<HostWindow> processValue(
      ProcessWindow p, java.util.function.ToDoubleFunction<ProcessWindow> value) {
    ProcessKey key = new ProcessKey(p.pid, p.startTicks);
    return h -> {
      ProcessWindow q = h.process(key);
      return q == null || q.lastMs < h.lastMs ? 0 : value.applyAsDouble(q);
    };
  }

  /**
   * The process with this key; one keyed by pid only (a window rebuilt from points stored without
   * start times) may have been {@link #adopt adopted} under its start time since.
   */
  private ProcessWindow process(ProcessKey key) {
    ProcessWindow p = processes.get(key);
    if (p != null || key.startTicks() != 0) return p;
    for (ProcessWindow q : processes.values()) if (q.pid == key.pid()) return q;
    return null;
  }

  HostWindow(String host, int buckets) {
    this.host = host;
    this.buckets = buckets;
    systemFds = new SeriesWindow(buckets);
    closeWait = new SeriesWindow(buckets);
    timeWait = new SeriesWindow(buckets);
  }

  /** Adds one sample; returns whether it carried sysctls that differ from the known ones. */
  boolean add(HostSample s, long timeMs, long bucket) {
    if (firstBucket == Long.MIN_VALUE) {
      firstBucket = bucket;
      firstMs = timeMs;
    }
    if (timeMs >= lastMs && s.hasProcessWalk()) {
      processesUnreadable = s.getProcessWalk().getProcessesUnreadable();
      socketsUnattributed =
          s.getProcessWalk().hasSocketsUnattributed()
              ? s.getProcessWalk().getSocketsUnattributed()
              : -1;
    }
    if (timeMs >= lastMs) {
      lastMs = timeMs;
      lastBucket = bucket;
    }
    if (s.hasFileHandles()) {
      var fh = s.getFileHandles();
      if (fh.hasAllocated()) systemFds.add(bucket, timeMs, fh.getAllocated());
      if (fh.hasMax()) fileMax = fh.getMax();
    }
    if (s.hasTcp() && s.getTcp().hasTotal()) {
      closeWait.add(bucket, timeMs, s.getTcp().getTotal().getCloseWait());
      timeWait.add(bucket, timeMs, s.getTcp().getTotal().getTimeWait());
    }
    for (ProcessSample p : s.getProcessesList()) addProcess(p, timeMs, bucket);
    if (s.hasPortPressure()) {
      var pp = s.getPortPressure();
      if (pp.hasRangeSize()) portRange = pp.getRangeSize();
      for (PortPressureEntry e : pp.getTopList()) {
        PortWindow w = ports.computeIfAbsent(e.getRemote(), r -> new PortWindow(buckets));
        w.inUse.add(bucket, timeMs, e.getInUse());
        w.timeWait = e.getTimeWait();
        w.lastMs = timeMs;
      }
    }
    return s.getSysctlsCount() > 0 && setSysctls(s.getSysctlsList());
  }

  /** Replaces the known sysctls; returns whether anything changed. */
  boolean setSysctls(List<Sysctl> list) {
    Map<String, String> next = new HashMap<>(list.size() * 2);
    for (Sysctl sc : list) next.put(sc.getName(), sc.getValue());
    if (next.equals(sysctls)) return false;
    sysctls = Map.copyOf(next);
    return true;
  }

  private void addProcess(ProcessSample p, long timeMs, long bucket) {
    ProcessKey key = new ProcessKey(p.getPid(), p.getStartTicks());
    ProcessWindow w = processes.get(key);
    if (w == null && key.startTicks() != 0) w = adopt(key, p.getComm());
    if (w == null) {
      w = new ProcessWindow(key.pid(), key.startTicks(), p.getComm(), buckets);
      w.firstBucket = bucket;
      w.firstMs = timeMs;
      processes.put(key, w);
    }
    w.comm = p.getComm();
    w.identity = p.hasIdentity() ? p.getIdentity() : null;
    w.lastMs = Math.max(w.lastMs, timeMs);
    if (p.hasFds()) w.fds.add(bucket, timeMs, p.getFds());
    if (p.hasSoftLimit()) w.softLimit = p.getSoftLimit();
    if (p.hasSockets()) {
      var c = p.getSockets();
      long cw = c.getCloseWait();
      // Zeros count: the series starts where the process was first seen, so growth from none is
      // growth (filled from the buckets its fds were sampled in, costing nothing until then).
      if (cw > 0 && w.closeWait == null)
        w.closeWait = SeriesWindow.filledLike(w.fds, bucket, buckets, 0);
      if (w.closeWait != null) w.closeWait.add(bucket, timeMs, cw);
      w.tcpSockets =
          c.getEstablished()
              + c.getCloseWait()
              + c.getSynSent()
              + c.getSynRecv()
              + c.getFinWait1()
              + c.getFinWait2()
              + c.getLastAck()
              + c.getClosing()
              + c.getListen();
      for (EndpointCount peer : p.getCloseWaitPeersList()) {
        SeriesWindow series = w.peers.get(peer.getEndpoint());
        if (series == null) {
          series = new SeriesWindow(buckets);
          w.addPeer(peer.getEndpoint(), series);
        }
        series.add(bucket, timeMs, peer.getCount());
      }
    }
  }

  /**
   * A window rebuilt from points stored before the store kept start times knows its processes by
   * pid only: the first report that names one with its start time takes the window over, if the
   * name matches (a reused pid would have another name, or at worst one mixed window for a while).
   */
  private ProcessWindow adopt(ProcessKey key, String comm) {
    ProcessKey unknown = new ProcessKey(key.pid(), 0);
    ProcessWindow w = processes.get(unknown);
    if (w == null || !w.comm.equals(comm)) return null;
    processes.remove(unknown);
    w.startTicks = key.startTicks();
    processes.put(key, w);
    return w;
  }

  /** Forgets processes, peers and endpoints with no sample since {@code beforeMs}. */
  void forgetOlderThan(long beforeMs) {
    for (Iterator<ProcessWindow> it = processes.values().iterator(); it.hasNext(); ) {
      ProcessWindow p = it.next();
      if (p.lastMs < beforeMs) {
        it.remove();
        continue;
      }
      p.forgetPeersOlderThan(beforeMs);
    }
    ports.values().removeIf(w -> w.lastMs < beforeMs);
  }
}
