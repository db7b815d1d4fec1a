package io.handlewatch.collector.detect;

import io.handlewatch.proto.v1.ProcessIdentity;
import java.util.HashMap;
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

  /**
   * CLOSE_WAIT sockets per remote endpoint, for attribution. Most processes have none or one: an
   * immutable map until a second peer shows, then a HashMap for good, so that iteration (and the
   * order of equally grown peers) is that of the HashMap it always was.
   */
  Map<String, SeriesWindow> peers = Map.of();

  double softLimit = Double.NaN;
  double tcpSockets = Double.NaN;
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

  void addPeer(String endpoint, SeriesWindow series) {
    if (peers.isEmpty() && !(peers instanceof HashMap)) {
      peers = Map.of(endpoint, series);
      return;
    }
    if (!(peers instanceof HashMap)) {
      Map<String, SeriesWindow> m = new HashMap<>(4);
      m.putAll(peers);
      peers = m;
    }
    peers.put(endpoint, series);
  }

  void forgetPeersOlderThan(long beforeMs) {
    if (peers instanceof HashMap) {
      peers.values().removeIf(peer -> peer.lastMs() < beforeMs);
    } else if (!peers.isEmpty() && peers.values().iterator().next().lastMs() < beforeMs) {
      peers = Map.of();
    }
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
