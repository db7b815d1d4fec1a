package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.TcpState;
import io.handlewatch.agent.source.parse.LimitsParser;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.ProcessWalk;
import io.handlewatch.proto.v1.SourceRun;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.time.Instant;
import java.util.Locale;
import java.util.stream.Collectors;

/** Renders a sample for a person at a terminal, in the spirit of {@code ss -s}. */
public final class SampleText {
  private SampleText() {}

  public static String render(HostSample s) {
    StringBuilder out = new StringBuilder();
    Instant t = Instant.ofEpochSecond(s.getTime().getSeconds(), s.getTime().getNanos());
    out.append("handlewatch sample of ").append(s.getHost().getHostname()).append(" at ").append(t);
    if (s.getHost().hasKernelRelease()) {
      out.append(" (kernel ").append(s.getHost().getKernelRelease()).append(')');
    }
    out.append("\n\n");
    tcp(s, out);
    sockstat(s, out);
    tables(s, out);
    listeners(s, out);
    fileHandles(s, out);
    processes(s, out);
    ports(s, out);
    sysctls(s, out);
    health(s, out);
    return out.toString();
  }

  private static void tcp(HostSample s, StringBuilder out) {
    if (!s.hasTcp()) {
      out.append("TCP sockets: not available (see health)\n\n");
      return;
    }
    String reader =
        switch (s.getTcp().getReader()) {
          case TCP_READER_NETLINK -> "netlink sock_diag";
          case TCP_READER_PROC -> "/proc/net/tcp{,6}";
          default -> "unknown reader";
        };
    out.append(String.format("TCP sockets (%s)      total       ipv4       ipv6%n", reader));
    TcpStateCounts a = s.getTcp().getTotal();
    TcpStateCounts v4 = s.getTcp().getIpv4();
    TcpStateCounts v6 = s.getTcp().getIpv6();
    long[] total = counts(a);
    long[] four = counts(v4);
    long[] six = counts(v6);
    long sum = 0;
    for (int i = 0; i < total.length; i++) {
      out.append(
          String.format(
              "  %-14s %10s %10s %10s%n",
              TcpState.name(i + 1), n(total[i]), n(four[i]), n(six[i])));
      sum += total[i];
    }
    out.append(String.format("  %-14s %10s%n%n", "all", n(sum)));
    namespaces(s, out);
  }

  /** Namespaces shown, at most; the rest are counted. */
  static final int MAX_NAMESPACES_SHOWN = 30;

  private static void namespaces(HostSample s, StringBuilder out) {
    var all = s.getTcp().getNamespacesList();
    if (all.size() <= 1) {
      return;
    }
    out.append(
        String.format(
            "Network namespaces: %d (%s through /proc/PID/net, %s not counted)%n",
            all.size(),
            n(s.getTcp().getNamespacesProcFallback()),
            n(s.getTcp().getNamespacesFailed())));
    if (s.getHealth().hasNetnsTcpTables()) {
      var t = s.getHealth().getNetnsTcpTables();
      out.append(
          String.format(
              "  TCP hash tables: %s share the host's (%s buckets, walked by each of their dumps),"
                  + " %s their own, %s unknown; net.ipv4.tcp_child_ehash_entries %s%n",
              n(t.getShared()),
              opt(t.hasHostBuckets(), t.getHostBuckets()),
              n(t.getOwn()),
              n(t.getUnknown()),
              opt(t.hasChildEhashEntries(), t.getChildEhashEntries())));
    }
    out.append(
        String.format(
            "  %-12s %7s %7s %7s %7s %7s %8s  %s%n",
            "INODE", "PROCS", "ESTAB", "CL_WAIT", "T_WAIT", "LISTEN", "CONNTRK", "WHO"));
    for (int i = 0; i < Math.min(all.size(), MAX_NAMESPACES_SHOWN); i++) {
      var ns = all.get(i);
      String who =
          ns.getHost()
              ? "host (the agent's own)"
              : (ns.hasName() ? "netns " + ns.getName() + " " : "")
                  + (ns.hasOwner() ? Identities.describe(ns.getOwner()) : "")
                  + (ns.hasPid() ? " pid " + ns.getPid() : "");
      TcpStateCounts c = ns.getCounts();
      boolean k = ns.hasCounts();
      out.append(
          String.format(
              "  %-12d %7d %7s %7s %7s %7s %8s  %s%s%n",
              ns.getInode(),
              ns.getProcesses(),
              k ? n(c.getEstablished()) : "?",
              k ? n(c.getCloseWait()) : "?",
              k ? n(c.getTimeWait()) : "?",
              k ? n(c.getListen()) : "?",
              ns.getConntrack().hasCount()
                  ? n(ns.getConntrack().getCount())
                  : ns.getHost() && s.getConntrack().hasCount()
                      ? n(s.getConntrack().getCount())
                      : "-",
              who.strip(),
              ns.getReader() == io.handlewatch.proto.v1.TcpReader.TCP_READER_PROC
                  ? " (via /proc)"
                  : ""));
    }
    if (all.size() > MAX_NAMESPACES_SHOWN) {
      out.append("  ... and ").append(all.size() - MAX_NAMESPACES_SHOWN).append(" more\n");
    }
    out.append('\n');
  }

  /** Counts in state order: index i holds state i + 1 (ESTABLISHED first). */
  static long[] counts(TcpStateCounts c) {
    return new long[] {
      c.getEstablished(), c.getSynSent(), c.getSynRecv(), c.getFinWait1(), c.getFinWait2(),
      c.getTimeWait(), c.getClose(), c.getCloseWait(), c.getLastAck(), c.getListen(),
      c.getClosing(), c.getNewSynRecv()
    };
  }

  private static void sockstat(HostSample s, StringBuilder out) {
    if (!s.hasSockstat()) {
      if (ran(s, "sockstat")) {
        out.append("sockstat: not available (see health)\n\n");
      }
      return;
    }
    var k = s.getSockstat();
    out.append("sockstat: sockets used ").append(opt(k.hasSocketsUsed(), k.getSocketsUsed()));
    out.append("; TCP inuse ").append(opt(k.hasTcpInuse(), k.getTcpInuse()));
    out.append(" orphan ").append(opt(k.hasTcpOrphan(), k.getTcpOrphan()));
    out.append(" tw ").append(opt(k.hasTcpTw(), k.getTcpTw()));
    out.append(" alloc ").append(opt(k.hasTcpAlloc(), k.getTcpAlloc()));
    out.append(" mem ").append(opt(k.hasTcpMemPages(), k.getTcpMemPages())).append(" pages");
    out.append("; TCP6 inuse ").append(opt(k.hasTcp6Inuse(), k.getTcp6Inuse()));
    out.append("\n\n");
  }

  private static void tables(HostSample s, StringBuilder out) {
    if (s.hasConntrack()) {
      var c = s.getConntrack();
      out.append("conntrack: ").append(opt(c.hasCount(), c.getCount())).append(" entries of ");
      out.append(opt(c.hasMax(), c.getMax())).append(" max");
      if (c.hasCount() && c.hasMax() && c.getMax() > 0) {
        out.append(String.format(Locale.ROOT, " (%.1f%%)", 100.0 * c.getCount() / c.getMax()));
      }
      out.append(", ").append(opt(c.hasBuckets(), c.getBuckets())).append(" buckets\n\n");
    } else if (ran(s, "conntrack")) {
      out.append("conntrack: not active in this namespace\n\n");
    }
    if (s.hasTcpCounters()) {
      var t = s.getTcpCounters();
      out.append("TCP counters since boot: ListenOverflows ")
          .append(opt(t.hasListenOverflows(), t.getListenOverflows()))
          .append(" ListenDrops ")
          .append(opt(t.hasListenDrops(), t.getListenDrops()))
          .append(" ReqQFullDrop ")
          .append(opt(t.hasReqQFullDrop(), t.getReqQFullDrop()))
          .append(" SyncookiesSent ")
          .append(opt(t.hasSyncookiesSent(), t.getSyncookiesSent()))
          .append("\n  AbortOnMemory ")
          .append(opt(t.hasAbortOnMemory(), t.getAbortOnMemory()))
          .append(" AbortOnTimeout ")
          .append(opt(t.hasAbortOnTimeout(), t.getAbortOnTimeout()))
          .append(" AttemptFails ")
          .append(opt(t.hasAttemptFails(), t.getAttemptFails()))
          .append(" EstabResets ")
          .append(opt(t.hasEstabResets(), t.getEstabResets()))
          .append(" RetransSegs ")
          .append(opt(t.hasRetransSegs(), t.getRetransSegs()))
          .append(" of OutSegs ")
          .append(opt(t.hasOutSegs(), t.getOutSegs()))
          .append("\n\n");
    } else if (ran(s, "tcp_counters")) {
      out.append("TCP counters: not available (see health)\n\n");
    }
  }

  private static void listeners(HostSample s, StringBuilder out) {
    if (!s.hasListenQueues()) {
      return;
    }
    var q = s.getListenQueues();
    out.append(
        String.format(
            "Accept queues (%d of %s listeners, fullest first)%n",
            q.getListenersCount(), n(q.getListenersTotal())));
    if (q.getListenersCount() == 0) {
      out.append("  no listening sockets\n\n");
      return;
    }
    out.append(
        String.format(
            "  %-30s %7s %7s %8s %7s %-15s  %s%n",
            "LOCAL", "QUEUE", "BACKLOG", "SYN_RECV", "PID", "COMM", "WHERE"));
    // Through /proc/net/tcp a listener's backlog is unknown and sent as 0: shown as "?".
    java.util.Set<Long> viaProc = new java.util.HashSet<>();
    for (var ns : s.getTcp().getNamespacesList()) {
      if (ns.getReader() == io.handlewatch.proto.v1.TcpReader.TCP_READER_PROC) {
        viaProc.add(ns.getHost() ? 0L : ns.getInode());
      }
    }
    if (s.getTcp().getReader() == io.handlewatch.proto.v1.TcpReader.TCP_READER_PROC) {
      viaProc.add(0L);
    }
    for (var l : q.getListenersList()) {
      boolean backlogKnown = l.getBacklog() > 0 || !viaProc.contains(l.getNetns());
      String where =
          (l.hasNetns() ? "netns " + l.getNetns() + " " : "")
              + (l.hasIdentity()
                      && (l.getIdentity().hasContainerId()
                          || l.getIdentity().hasPodUid()
                          || l.getIdentity().hasSystemdUnit())
                  ? Identities.describe(l.getIdentity())
                  : "");
      out.append(
              String.format(
                      "  %-30s %7s %7s %8s %7s %-15s  %s",
                      l.getLocal(),
                      n(l.getQueue()),
                      backlogKnown ? n(l.getBacklog()) : "?",
                      n(l.getSynRecv()),
                      l.hasPid() ? Integer.toString(l.getPid()) : "?",
                      l.hasComm() ? l.getComm() : "?",
                      where.strip())
                  .stripTrailing())
          .append('\n');
    }
    out.append('\n');
  }

  private static void fileHandles(HostSample s, StringBuilder out) {
    if (!s.hasFileHandles()) {
      if (ran(s, "file_handles")) {
        out.append("file handles: not available (see health)\n\n");
      }
      return;
    }
    var f = s.getFileHandles();
    out.append("file handles: ")
        .append(opt(f.hasAllocated(), f.getAllocated()))
        .append(" allocated of ");
    out.append(opt(f.hasMax(), f.getMax())).append(" max");
    if (f.hasUsedRatio()) {
      out.append(String.format(Locale.ROOT, " (%.2f%%)", 100 * f.getUsedRatio()));
    }
    out.append("; per-process ceiling fs.nr_open ")
        .append(opt(f.hasNrOpen(), f.getNrOpen()))
        .append("\n\n");
  }

  private static void processes(HostSample s, StringBuilder out) {
    if (!s.hasProcessWalk()) {
      return;
    }
    out.append("Processes (top by fd usage, and top by CLOSE_WAIT)\n");
    out.append(
        String.format(
            "  %7s %-15s %7s %7s %6s %7s %7s %6s  %s%n",
            "PID", "COMM", "FDS", "SOFT", "USED", "ESTAB", "CL_WAIT", "LISTEN", "CMDLINE"));
    for (ProcessSample p : s.getProcessesList()) {
      out.append(
          String.format(
              "  %7d %-15s %7s %7s %6s %7s %7s %6s  %s%n",
              p.getPid(),
              p.getComm(),
              p.hasFds() ? n(p.getFds()) : "?",
              p.hasSoftLimit() ? limit(p.getSoftLimit()) : "?",
              p.hasUsedRatio() ? String.format(Locale.ROOT, "%.1f%%", 100 * p.getUsedRatio()) : "?",
              p.hasSockets() ? n(p.getSockets().getEstablished()) : "?",
              p.hasSockets() ? n(p.getSockets().getCloseWait()) : "?",
              p.hasSockets() ? n(p.getSockets().getListen()) : "?",
              p.hasCmdline() ? abbreviate(p.getCmdline(), 60) : ""));
      if (p.hasIdentity()
          && (p.getIdentity().hasContainerId()
              || p.getIdentity().hasPodUid()
              || p.getIdentity().hasSystemdUnit())) {
        out.append("          in ").append(Identities.describe(p.getIdentity())).append('\n');
      }
      if (p.getCloseWaitPeersCount() > 0) {
        out.append("          CLOSE_WAIT to ")
            .append(
                p.getCloseWaitPeersList().stream()
                    .map(e -> e.getEndpoint() + " x" + n(e.getCount()))
                    .collect(Collectors.joining(", ")))
            .append('\n');
      }
    }
    ProcessWalk w = s.getProcessWalk();
    out.append(
        String.format(
            "  walk: %s processes, %s unreadable (need CAP_SYS_PTRACE), %s exited mid-walk; "
                + "%s fd tables re-read, %s fd links read; %s sockets without a known owner%n%n",
            n(w.getProcessesSeen()),
            n(w.getProcessesUnreadable()),
            n(w.getProcessesVanished()),
            n(w.getProcessesRescanned()),
            n(w.getFdLinksRead()),
            n(w.getSocketsUnattributed())));
  }

  private static void ports(HostSample s, StringBuilder out) {
    if (!s.hasPortPressure() || !s.getPortPressure().hasRangeSize()) {
      return;
    }
    var pp = s.getPortPressure();
    out.append(
        String.format(
            "Ephemeral ports (ip_local_port_range %d-%d, %s ports per remote endpoint)%n",
            pp.getRangeLow(), pp.getRangeHigh(), n(pp.getRangeSize())));
    if (pp.getTopCount() == 0) {
      out.append("  no local sockets on ephemeral ports\n\n");
      return;
    }
    out.append(String.format("  %-40s %8s %9s %8s%n", "REMOTE", "IN USE", "TIME_WAIT", "OF RANGE"));
    for (PortPressureEntry e : pp.getTopList()) {
      out.append(
          String.format(
              Locale.ROOT,
              "  %-40s %8s %9s %7.1f%%%n",
              e.getRemote(),
              n(e.getInUse()),
              n(e.getTimeWait()),
              100.0 * e.getInUse() / pp.getRangeSize()));
    }
    out.append('\n');
  }

  private static void sysctls(HostSample s, StringBuilder out) {
    if (s.getSysctlsCount() == 0) {
      return;
    }
    out.append("sysctls\n");
    for (Sysctl k : s.getSysctlsList()) {
      out.append("  ").append(k.getName()).append(" = ").append(k.getValue()).append('\n');
    }
    out.append('\n');
  }

  private static void health(HostSample s, StringBuilder out) {
    var h = s.getHealth();
    out.append(
        String.format(
            Locale.ROOT,
            "sample cost: %.1f ms wall, %.1f ms CPU",
            h.getWallMicros() / 1000.0,
            h.getCpuMicros() / 1000.0));
    if (h.hasRssBytes()) {
      out.append(String.format(Locale.ROOT, ", agent RSS %.1f MiB", h.getRssBytes() / 1048576.0));
    }
    out.append('\n');
    for (SourceRun r : h.getSourcesList()) {
      String status =
          switch (r.getStatus()) {
            case SOURCE_STATUS_OK -> "ok";
            case SOURCE_STATUS_PARTIAL -> "partial";
            case SOURCE_STATUS_FAILED -> "FAILED";
            default -> "?";
          };
      out.append(
          String.format(
              Locale.ROOT,
              "  %-13s %-8s %9.2f ms wall %9.2f ms CPU",
              r.getSource(),
              status,
              r.getWallMicros() / 1000.0,
              r.getCpuMicros() / 1000.0));
      if (r.getSkipped() > 0) {
        out.append("  skipped ").append(n(r.getSkipped()));
      }
      out.append('\n');
      for (String e : r.getErrorsList()) {
        out.append("      ").append(e).append('\n');
      }
    }
  }

  /** Whether the source ran: an absent section then means it failed, not that it was left out. */
  private static boolean ran(HostSample s, String source) {
    return s.getHealth().getSourcesList().stream().anyMatch(r -> r.getSource().equals(source));
  }

  private static String opt(boolean present, long v) {
    return present ? n(v) : "?";
  }

  private static String limit(long v) {
    return v == LimitsParser.UNLIMITED ? "unlim" : n(v);
  }

  private static String n(long v) {
    return String.format(Locale.ROOT, "%,d", v);
  }

  private static String abbreviate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max - 3) + "...";
  }
}
