package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.ProcessTable;
import io.handlewatch.agent.source.SocketEntry;
import io.handlewatch.agent.source.SocketTable;
import io.handlewatch.agent.source.TcpState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything one pass over the socket table yields: counts per family and state, each process's
 * sockets per state and CLOSE_WAIT peers, and ephemeral port use per remote endpoint. Holds
 * aggregates only, never the sockets themselves.
 */
final class TcpCensus implements SocketTable.SocketVisitor {
  /** CLOSE_WAIT sockets with no known owner kept for a second attribution pass, at most. */
  static final int MAX_UNRESOLVED_CLOSE_WAIT = 65_536;

  final long[] ipv4 = new long[TcpState.MAX + 1];
  final long[] ipv6 = new long[TcpState.MAX + 1];
  long unknownState;
  long unattributed;

  private final ProcessTable.Walk walk;
  private final int rangeLow;
  private final int rangeHigh;
  private final long[][] perProcess;
  // Accepted sockets share their listener's local port and use no ephemeral port. Both readers
  // list listening sockets before the others, so the set is complete before it is consulted.
  private final java.util.BitSet listeningPorts = new java.util.BitSet(65536);
  private final Map<Integer, EndpointCounter> closeWaitPeers = new HashMap<>();
  final EndpointCounter portUse = new EndpointCounter();

  /** Listening sockets and the connection requests waiting on them, every namespace. */
  final ListenerCensus listeners = new ListenerCensus();

  /** CLOSE_WAIT sockets whose inode had no owner: inode and remote endpoint. */
  final List<Unresolved> unresolvedCloseWait = new ArrayList<>();

  long unresolvedDropped;
  io.handlewatch.proto.v1.TcpReader reader;

  /** Per-namespace counts, the host's first; empty when only the agent's namespace was read. */
  final List<io.handlewatch.proto.v1.NamespaceSockets.Builder> namespaces = new ArrayList<>();

  long namespacesProcFallback;
  long namespacesFailed;
  private boolean inHostNamespace = true;
  private long[] namespaceCounts;

  record Unresolved(long inode, SocketEntry entry) {}

  /**
   * @param walk the process walk to attribute sockets to, or null to count only
   * @param portRange ip_local_port_range as [low, high], or null when unknown (no port pressure)
   */
  TcpCensus(ProcessTable.Walk walk, int[] portRange) {
    this.walk = walk;
    this.rangeLow = portRange == null ? 1 : portRange[0];
    this.rangeHigh = portRange == null ? 0 : portRange[1];
    this.perProcess = walk == null ? new long[0][] : new long[walk.processes().size()][];
  }

  @Override
  public void socket(SocketEntry s) {
    int state = s.state();
    if (!TcpState.isKnown(state)) {
      unknownState++;
      return;
    }
    (s.family() == SocketEntry.AF_INET ? ipv4 : ipv6)[state]++;
    if (namespaceCounts != null) {
      namespaceCounts[state]++;
    }

    if (state == TcpState.LISTEN) {
      listeners.listener(s);
    } else if ((state == TcpState.SYN_RECV || state == TcpState.NEW_SYN_RECV) && s.inode() == 0) {
      // A request socket (no inode, no fd): a handshake in progress towards a listener.
      listeners.request(s);
    }

    int lp = s.localPort();
    if (!inHostNamespace) {
      // Ports are per namespace: a pod's ephemeral ports do not use up the host's, and the host's
      // listeners say nothing about a pod's. Port pressure stays the host namespace's.
    } else if (state == TcpState.LISTEN) {
      listeningPorts.set(lp);
    } else if (lp >= rangeLow
        && lp <= rangeHigh
        && s.remotePort() != 0
        && !listeningPorts.get(lp)) {
      portUse.add(s);
    }

    long inode = s.inode();
    if (walk == null || inode == 0) {
      return;
    }
    int owner = walk.ownerIndex(inode);
    if (owner < 0) {
      unattributed++;
      if (state == TcpState.CLOSE_WAIT) {
        if (unresolvedCloseWait.size() < MAX_UNRESOLVED_CLOSE_WAIT) {
          SocketEntry copy = new SocketEntry();
          copyInto(s, copy);
          unresolvedCloseWait.add(new Unresolved(inode, copy));
        } else {
          unresolvedDropped++;
        }
      }
      return;
    }
    attribute(owner, s);
  }

  /**
   * Sockets from now on belong to a namespace whose per-state counts go to {@code counts}; {@code
   * host} says whether it is the agent's own; {@code inode} is the namespace's (0 for the host's).
   */
  void enterNamespace(boolean host, long inode, long[] counts) {
    inHostNamespace = host;
    namespaceCounts = counts;
    listeners.enterNamespace(host ? 0 : inode);
  }

  /** Attributes the CLOSE_WAIT sockets left unresolved, after the walk was refreshed. */
  void resolveAgain() {
    List<Unresolved> still = new ArrayList<>();
    for (Unresolved u : unresolvedCloseWait) {
      int owner = walk.ownerIndex(u.inode());
      if (owner < 0) {
        still.add(u);
      } else {
        unattributed--;
        attribute(owner, u.entry());
      }
    }
    unresolvedCloseWait.clear();
    unresolvedCloseWait.addAll(still);
  }

  private void attribute(int owner, SocketEntry s) {
    long[] counts = perProcess[owner];
    if (counts == null) {
      counts = perProcess[owner] = new long[TcpState.MAX + 1];
    }
    counts[s.state()]++;
    if (s.state() == TcpState.CLOSE_WAIT) {
      closeWaitPeers.computeIfAbsent(owner, k -> new EndpointCounter()).add(s);
    }
  }

  /** Sockets per state of process {@code index}, or null when it holds none. */
  long[] processSockets(int index) {
    return perProcess[index];
  }

  long closeWait(int index) {
    long[] c = perProcess[index];
    return c == null ? 0 : c[TcpState.CLOSE_WAIT];
  }

  EndpointCounter closeWaitPeers(int index) {
    return closeWaitPeers.get(index);
  }

  private static void copyInto(SocketEntry from, SocketEntry to) {
    int len = from.addressLength();
    byte[] local = new byte[len];
    byte[] remote = new byte[len];
    for (int i = 0; i < len; i++) {
      local[i] = from.localAddressByte(i);
      remote[i] = from.remoteAddressByte(i);
    }
    to.set(
        from.family(),
        from.state(),
        local,
        from.localPort(),
        remote,
        from.remotePort(),
        from.inode());
  }
}
