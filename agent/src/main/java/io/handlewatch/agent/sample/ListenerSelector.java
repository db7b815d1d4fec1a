package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.ProcessIdentities;
import io.handlewatch.agent.source.ProcessTable;
import io.handlewatch.proto.v1.ListenQueues;
import io.handlewatch.proto.v1.Listener;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Picks the listeners worth sending, fullest accept queue first, and names the process holding each
 * through the process walk's inode index (socket inodes are global, so this holds for every
 * namespace).
 */
final class ListenerSelector {
  private final int top;
  private final ProcessIdentities identities;

  ListenerSelector(int top, ProcessIdentities identities) {
    this.top = top;
    this.identities = identities;
  }

  /**
   * @param walk the process walk, or null when it failed (listeners are then sent without owners)
   */
  ListenQueues select(TcpCensus census, ProcessTable.Walk walk, Problems problems) {
    ListenerCensus lc = census.listeners;
    List<ListenerCensus.Found> all = new ArrayList<>(lc.all());
    if (lc.unmatchedRequests > 0) {
      problems.note(
          lc.unmatchedRequests
              + " connection requests (SYN_RECV) with no listener on their port in the dump");
    }
    if (all.stream().anyMatch(f -> f.backlog < 0)) {
      problems.note(
          "listeners read through /proc/net/tcp: their backlog is unknown there (only sock_diag"
              + " reports it) and is sent as 0");
    }
    all.sort(
        Comparator.<ListenerCensus.Found>comparingDouble(f -> -f.fullness())
            .thenComparingLong(f -> -f.queue)
            .thenComparingLong(f -> -f.synRecv)
            .thenComparingInt(f -> f.port)
            .thenComparingLong(f -> f.inode));
    ListenQueues.Builder b = ListenQueues.newBuilder().setListenersTotal(all.size());
    for (ListenerCensus.Found f : all.subList(0, Math.min(top, all.size()))) {
      Listener.Builder l =
          Listener.newBuilder()
              .setLocal(f.local())
              .setQueue(f.queue)
              .setBacklog(Math.max(0, f.backlog))
              .setSynRecv(f.synRecv);
      long netns = lc.namespaceInode(f);
      if (netns != 0) {
        l.setNetns(netns);
      }
      int owner = walk == null || f.inode == 0 ? -1 : walk.ownerIndex(f.inode);
      if (owner >= 0) {
        ProcessTable.ProcessInfo p = walk.processes().get(owner);
        l.setPid(p.pid()).setComm(p.comm());
        ProcessIdentities.Identity id = identities.read(p.pid(), problems);
        if (id != null) {
          l.setIdentity(Identities.toProto(id));
        }
      }
      b.addListeners(l);
    }
    return b.build();
  }
}
