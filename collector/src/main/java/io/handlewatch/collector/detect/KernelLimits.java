package io.handlewatch.collector.detect;

import io.handlewatch.proto.v1.NamespaceSockets;

/**
 * How the kernel bounds the tables the detector judges, in one place for the detector and the API
 * (which shows each table against the same limit the detector judges it by).
 */
public final class KernelLimits {
  private KernelLimits() {}

  /**
   * The number of SYN_RECV request sockets at which a listener's SYN queue stops taking new
   * requests, 0 when the backlog is unknown. Since Linux 4.4 the SYN queue is full when its length
   * reaches the listener's accept backlog (sk_max_ack_backlog, the listen() backlog capped by
   * net.core.somaxconn): a SYN beyond it is answered with a syncookie while net.ipv4.tcp_syncookies
   * is on, dropped (TCPReqQFullDrop) while it is off. With syncookies off, tcp_conn_request also
   * drops SYNs from peers it has not talked to before once fewer than a quarter of
   * net.ipv4.tcp_max_syn_backlog remain free, so the queue then fills at three quarters of it.
   */
  public static long synQueueCap(long backlog, String syncookies, String maxSynBacklog) {
    if (backlog <= 0) return 0;
    double max = PortPressureRule.parse(maxSynBacklog);
    if (syncookies != null && syncookies.strip().equals("0") && max > 0) {
      long m = (long) max;
      return Math.max(1, Math.min(backlog, m - (m >> 2) + 1));
    }
    return backlog;
  }

  /**
   * How pages and the host view name a network namespace: {@code netns NAME} (its /run/netns name)
   * or {@code netns INODE}, with its owner's pod or container when known.
   */
  public static String namespaceSubject(NamespaceSockets ns) {
    String owner = ns.hasOwner() ? Owners.name(ns.getOwner()) : null;
    return "netns "
        + (ns.hasName() ? ns.getName() : Long.toUnsignedString(ns.getInode()))
        + (owner == null ? "" : " (" + owner + ")");
  }
}
