package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.NetNamespaces;
import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcessIdentities;
import io.handlewatch.agent.source.ProcessTable;
import io.handlewatch.agent.source.SourceErrors;
import io.handlewatch.agent.source.TcpState;
import io.handlewatch.agent.source.parse.LimitsParser;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.SelectedBy;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Picks the processes worth reporting: the top N by fd usage ratio (closest to EMFILE) and the top
 * N by CLOSE_WAIT sockets (the classic leak), and reads as much of their {@code /proc/PID/cmdline}
 * as {@link CommandLines} allows.
 */
final class ProcessSelector {
  private final ProcFs fs;
  private final int topProcesses;
  private final int topEndpoints;
  private final CommandLines commandLines;
  private final ProcessIdentities identities;

  ProcessSelector(
      ProcFs fs,
      int topProcesses,
      int topEndpoints,
      CommandLines commandLines,
      ProcessIdentities identities) {
    this.fs = fs;
    this.identities = identities;
    this.topProcesses = topProcesses;
    this.topEndpoints = topEndpoints;
    this.commandLines = commandLines;
  }

  /**
   * @param socketsKnown whether {@code census} came from a socket table; if not, per-process socket
   *     counts are unknown and left absent
   */
  List<ProcessSample> select(
      ProcessTable.Walk walk, TcpCensus census, boolean socketsKnown, Problems problems) {
    List<ProcessTable.ProcessInfo> ps = walk.processes();
    List<Integer> byRatio = new ArrayList<>();
    List<Integer> byCloseWait = new ArrayList<>();
    for (int i = 0; i < ps.size(); i++) {
      if (ratio(ps.get(i)) >= 0) {
        byRatio.add(i);
      }
      if (census.closeWait(i) > 0) {
        byCloseWait.add(i);
      }
    }
    byRatio.sort(
        Comparator.<Integer>comparingDouble(i -> -ratio(ps.get(i)))
            .thenComparingLong(i -> -ps.get(i).fds().orElse(0))
            .thenComparingInt(i -> ps.get(i).pid()));
    byCloseWait.sort(
        Comparator.<Integer>comparingLong(i -> -census.closeWait(i))
            .thenComparingInt(i -> ps.get(i).pid()));

    Map<Integer, SelectedBy> chosen = new LinkedHashMap<>();
    for (int i : byRatio.subList(0, Math.min(topProcesses, byRatio.size()))) {
      chosen.put(i, SelectedBy.SELECTED_BY_FD_RATIO);
    }
    for (int i : byCloseWait.subList(0, Math.min(topProcesses, byCloseWait.size()))) {
      chosen.merge(i, SelectedBy.SELECTED_BY_CLOSE_WAIT, (a, b) -> SelectedBy.SELECTED_BY_BOTH);
    }

    List<Integer> order = new ArrayList<>(chosen.keySet());
    // Worst first: the nearest to its limit, then the most CLOSE_WAIT.
    order.sort(
        Comparator.<Integer>comparingDouble(i -> -Math.max(0, ratio(ps.get(i))))
            .thenComparingLong(i -> -census.closeWait(i))
            .thenComparingInt(i -> ps.get(i).pid()));
    List<ProcessSample> out = new ArrayList<>(order.size());
    for (int i : order) {
      out.add(toProto(ps.get(i), i, chosen.get(i), census, socketsKnown, problems));
    }
    return out;
  }

  private ProcessSample toProto(
      ProcessTable.ProcessInfo p,
      int index,
      SelectedBy why,
      TcpCensus census,
      boolean socketsKnown,
      Problems problems) {
    ProcessSample.Builder b =
        ProcessSample.newBuilder()
            .setPid(p.pid())
            .setComm(p.comm())
            .setStartTicks(p.startTicks())
            .setSelectedBy(why);
    p.fds().ifPresent(b::setFds);
    p.softLimit().ifPresent(b::setSoftLimit);
    p.hardLimit().ifPresent(b::setHardLimit);
    double r = ratio(p);
    if (r >= 0) {
      b.setUsedRatio(r);
    }
    if (p.linksKnown() && socketsKnown) {
      long[] counts = census.processSockets(index);
      b.setSockets(counts == null ? Sampler.zeroCounts() : TcpState.toProto(counts));
    }
    EndpointCounter peers = census.closeWaitPeers(index);
    if (peers != null) {
      peers.top(topEndpoints).forEach(r2 -> b.addCloseWaitPeers(Sampler.endpoint(r2)));
    }
    String cmdline = cmdline(p.pid(), problems);
    if (cmdline != null) {
      b.setCmdline(cmdline);
    }
    ProcessIdentities.Identity id = identities.read(p.pid(), problems);
    if (id != null) {
      b.setIdentity(Identities.toProto(id));
    }
    long netns = NetNamespaces.inodeOf(fs, p.pid(), problems);
    if (netns > 0) {
      b.setNetns(netns);
    }
    return b.build();
  }

  private String cmdline(int pid, Problems problems) {
    if (commandLines == CommandLines.NONE) return null;
    try {
      return commandLines.apply(fs.readSmall(pid + "/cmdline"));
    } catch (NoSuchFileException e) {
      // Exited since the walk: the rest of its entry is still worth reporting.
      return null;
    } catch (IOException e) {
      problems.skip(SourceErrors.describe(e));
      return null;
    }
  }

  /** fds / soft limit, or -1 when either is unknown. */
  static double ratio(ProcessTable.ProcessInfo p) {
    if (p.fds().isEmpty() || p.softLimit().isEmpty()) {
      return -1;
    }
    long soft = p.softLimit().getAsLong();
    if (soft == LimitsParser.UNLIMITED || soft == 0) {
      return soft == 0 ? -1 : 0;
    }
    return (double) p.fds().getAsLong() / soft;
  }
}
