package io.handlewatch.collector.detect;

import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.ProcessIdentity;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One process (pid and start time: a restarted process or a reused pid is another one) on one host:
 * the windows of its fds and CLOSE_WAIT sockets, and what its newest sample said. Windows are made
 * only for what the process has (one that never held a CLOSE_WAIT socket costs none).
 */
final class ProcessWindow {
  final int pid;

  /** 0 while unknown (a window rebuilt from points stored without it), see HostWindow. */
  long startTicks;

  String comm;
  final SeriesWindow fds;
  SeriesWindow closeWait;

  /** CLOSE_WAIT sockets per remote endpoint, for attribution. */
  final Map<String, SeriesWindow> peers = new HashMap<>(4);

  double softLimit = Double.NaN;
  double tcpSockets = Double.NaN;
  List<EndpointCount> latestPeers = List.of();
  long lastMs;

  /** The bucket it was first seen in, and when. */
  long firstBucket;

  long firstMs;

  ProcessWindow(int pid, long startTicks, String comm, int buckets) {
    this.pid = pid;
    this.startTicks = startTicks;
    this.comm = comm;
    this.fds = new SeriesWindow(buckets);
  }

  /** {@code comm[pid]}, as SREs read it in logs. */
  String subject() {
    return comm + "[" + Integer.toUnsignedString(pid) + "]";
  }

  /** A key unique to this process's lifetime on its host. */
  String identity() {
    return subject() + "@" + startTicks;
  }

  /** Who it belongs to, from its newest sample; null when the agent did not say. */
  ProcessIdentity identity;

  /**
   * The process as a page names it: {@code pod/container (comm[pid])} inside a pod, {@code
   * container (comm[pid])} in another container, else {@code comm[pid]}.
   */
  String who() {
    String owner = Owners.name(identity);
    return owner == null ? subject() : owner + " (" + subject() + ")";
  }

  Map<String, String> labels() {
    Map<String, String> l = new HashMap<>(Owners.labels(identity));
    l.put("pid", Integer.toUnsignedString(pid));
    l.put("comm", comm);
    return l;
  }
}
