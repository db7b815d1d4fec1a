package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.Endpoints;
import io.handlewatch.agent.source.SocketEntry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The listening sockets of one pass over the socket table, with their accept queues, and the
 * connection requests (SYN_RECV request sockets) waiting on each. Fed by {@link TcpCensus} from the
 * same dump as the state counts: no second pass.
 *
 * <p>A request socket carries the address the client connected to, its listener often a wildcard:
 * requests are matched to a listener of the same namespace and port at the end of the pass, by
 * exact address first, then a wildcard of the same family, then an IPv6 wildcard (which accepts
 * IPv4 too). Matching at the end keeps it independent of the order readers list sockets in.
 */
final class ListenerCensus {
  /** One listening socket. */
  static final class Found {
    final int family;
    final byte[] address;
    final int port;
    final long queue;
    // -1 when the reader could not tell (the /proc/net/tcp fallback).
    final long backlog;
    final long inode;
    final int namespace;
    long synRecv;

    Found(SocketEntry s, int namespace) {
      this.family = s.family();
      this.address = address(s);
      this.port = s.localPort();
      this.queue = s.receiveQueue();
      this.backlog = s.sendQueue();
      this.inode = s.inode();
      this.namespace = namespace;
    }

    String local() {
      return Endpoints.format(address, address.length, port);
    }

    /**
     * The fuller of its two queues against the backlog, which bounds both (the SYN queue too, since
     * Linux 4.4): 0 when the backlog is unknown or 0. A listener whose SYN queue fills is sent even
     * when its accept queue is empty.
     */
    double fullness() {
      return backlog > 0 ? (double) Math.max(queue, synRecv) / backlog : 0;
    }

    boolean wildcard() {
      for (byte b : address) {
        if (b != 0) return false;
      }
      return true;
    }
  }

  private record Request(int namespace, int port, int family, List<Byte> address) {}

  private final List<Found> found = new ArrayList<>();
  private final Map<Request, long[]> requests = new HashMap<>();
  private final List<Long> namespaceInodes = new ArrayList<>(List.of(0L));
  private int namespace;
  private boolean matched;
  long unmatchedRequests;

  /** Sockets from now on live in namespace {@code inode} (0: the agent's own). */
  void enterNamespace(long inode) {
    namespace = namespaceInodes.size();
    namespaceInodes.add(inode);
  }

  void listener(SocketEntry s) {
    found.add(new Found(s, namespace));
  }

  void request(SocketEntry s) {
    byte[] a = address(s);
    List<Byte> key = new ArrayList<>(a.length);
    for (byte b : a) key.add(b);
    requests
        .computeIfAbsent(new Request(namespace, s.localPort(), s.family(), key), k -> new long[1])[
        0]++;
  }

  /** Every listener, requests matched; call once the pass is over. */
  List<Found> all() {
    if (!matched) {
      match();
      matched = true;
    }
    return found;
  }

  /** The namespace inode of {@code f}, 0 for the agent's own. */
  long namespaceInode(Found f) {
    return namespaceInodes.get(f.namespace);
  }

  private void match() {
    Map<Long, List<Found>> byPort = new HashMap<>();
    for (Found f : found) {
      byPort.computeIfAbsent(((long) f.namespace << 16) | f.port, k -> new ArrayList<>()).add(f);
    }
    for (Map.Entry<Request, long[]> e : requests.entrySet()) {
      Request r = e.getKey();
      List<Found> candidates = byPort.get(((long) r.namespace() << 16) | r.port());
      Found best = null;
      int bestRank = Integer.MAX_VALUE;
      if (candidates != null) {
        byte[] a = new byte[r.address().size()];
        for (int i = 0; i < a.length; i++) a[i] = r.address().get(i);
        for (Found f : candidates) {
          int rank;
          if (f.family == r.family() && Arrays.equals(f.address, a)) {
            rank = 0;
          } else if (f.family == r.family() && f.wildcard()) {
            rank = 1;
          } else if (f.family == SocketEntry.AF_INET6 && f.wildcard()) {
            rank = 2;
          } else {
            continue;
          }
          if (rank < bestRank) {
            best = f;
            bestRank = rank;
          }
        }
      }
      if (best == null) {
        // Its listener closed since, or sits in a part of the dump that failed.
        unmatchedRequests += e.getValue()[0];
      } else {
        best.synRecv += e.getValue()[0];
      }
    }
  }

  private static byte[] address(SocketEntry s) {
    byte[] a = new byte[s.addressLength()];
    for (int i = 0; i < a.length; i++) a[i] = s.localAddressByte(i);
    return a;
  }
}
