package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.ConntrackSource;
import io.handlewatch.agent.source.ContainerNames;
import io.handlewatch.agent.source.FileHandlesSource;
import io.handlewatch.agent.source.NetNamespaces;
import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcNetTcpSocketTable;
import io.handlewatch.agent.source.ProcSource;
import io.handlewatch.agent.source.ProcessIdentities;
import io.handlewatch.agent.source.ProcessTable;
import io.handlewatch.agent.source.SocketTable;
import io.handlewatch.agent.source.SockstatSource;
import io.handlewatch.agent.source.SourceErrors;
import io.handlewatch.agent.source.SysctlSource;
import io.handlewatch.agent.source.TcpCountersSource;
import io.handlewatch.agent.source.TcpHashTableSource;
import io.handlewatch.agent.source.TcpState;
import io.handlewatch.agent.source.natives.NamespaceEntry;
import io.handlewatch.agent.source.parse.ProcParseException;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.Conntrack;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.NamespaceTcpTables;
import io.handlewatch.proto.v1.PortPressure;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessWalk;
import io.handlewatch.proto.v1.Sockstat;
import io.handlewatch.proto.v1.SourceRun;
import io.handlewatch.proto.v1.SourceStatus;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpReader;
import io.handlewatch.proto.v1.TcpSockets;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * Takes one sample of the host: runs every source in turn, times each, and assembles the {@link
 * HostSample}. One failing source never stops the others; its failure is in the sample's health.
 *
 * <p>Keeps state between samples (the process table's socket index), so one Sampler should live as
 * long as the agent. Not thread-safe.
 */
public final class Sampler {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final System.Logger log = System.getLogger(Sampler.class.getName());

  private final ProcFs fs;
  private final List<SocketTable> socketTables;
  private final SampleOptions options;
  private final SysctlSource sysctls;
  private final SockstatSource sockstat;
  private final FileHandlesSource fileHandles;
  private final TcpCountersSource tcpCounters;
  private final ConntrackSource conntrack;
  private final ProcessTable processTable;
  private final HostIdentityReader identity;
  private final Clock clock;
  // Null when namespaces are off or /proc is a fixture copy: only the agent's namespace is read.
  private final NetNamespaces netNamespaces;
  private final NamespaceEntry entry;
  private boolean setnsDenied;
  private long otherThreadsCpuNanos;
  private final ProcessIdentities identities;
  // Null with netNamespaces: which TCP hash table each namespace walks.
  private final TcpTables tcpTables;
  private boolean logTcpTables;
  private boolean tcpTablesAnnounced;
  private boolean tcpTablesAdvised;

  /**
   * @param socketTables TCP readers in order of preference: the first that works is used
   */
  public Sampler(ProcFs fs, List<SocketTable> socketTables, SampleOptions options, Clock clock) {
    if (socketTables.isEmpty()) {
      throw new IllegalArgumentException("at least one socket table reader is needed");
    }
    this.fs = fs;
    this.socketTables = List.copyOf(socketTables);
    this.options = options;
    this.clock = clock;
    this.sysctls = new SysctlSource(fs, SysctlSource.defaultsPlus(options.extraSysctls()));
    this.sockstat = new SockstatSource(fs);
    this.fileHandles = new FileHandlesSource(fs);
    this.tcpCounters = new TcpCountersSource(fs, "net");
    this.conntrack = new ConntrackSource(fs);
    this.processTable = new ProcessTable(fs, options.fullRescanEvery());
    this.identity = new HostIdentityReader(fs, options.hostname(), options.machineIdFile());
    this.identities = new ProcessIdentities(fs, new ContainerNames(options.hostRoot()));
    boolean namespaces = options.namespaces() && fs.isProcfs();
    this.netNamespaces = namespaces ? new NetNamespaces(fs, options.netnsDir()) : null;
    this.entry = namespaces && NamespaceEntry.available() ? new NamespaceEntry() : null;
    TcpHashTableSource ehash = new TcpHashTableSource(fs);
    this.tcpTables = namespaces ? new TcpTables(ehash, inside(ehash)) : null;
  }

  /**
   * Logs, after the first sample, how many namespaces share the host's TCP hash table and what that
   * costs, and once, when it costs enough, the advice: for the daemon ({@code run}), whose log
   * operators read; {@code sample} shows the same in its output.
   */
  public void logTcpTables() {
    this.logTcpTables = true;
  }

  /** A namespace's TCP hash table, read by the dump thread standing inside it. */
  private TcpTables.Inside inside(TcpHashTableSource source) {
    if (entry == null) {
      return null;
    }
    return ns -> {
      Object r =
          entry.inside(
              ns.path(),
              ns.inode(),
              () -> {
                try {
                  return source.read(new Problems());
                } catch (ProcParseException e) {
                  return e;
                }
              });
      if (r instanceof ProcParseException e) {
        throw e;
      }
      return (TcpHashTableSource.Table) r;
    };
  }

  public HostSample sample() {
    long wall0 = System.nanoTime();
    long cpu0 = THREADS.getCurrentThreadCpuTime();
    otherThreadsCpuNanos = 0;
    HostSample.Builder sample = HostSample.newBuilder();
    AgentHealth.Builder health = AgentHealth.newBuilder();
    sample.setTime(Times.toProto(clock.instant()));
    // With the wall time: the sender tells the sample's age from it across clock steps.
    sample.setMonotonicNanos(wall0);
    sample.setHost(identity.read().toBuilder().putAllLabels(options.labels()));
    identities.startSample();

    List<NetNamespaces.NetNamespace> namespaces =
        netNamespaces == null ? null : run("netns", health, netNamespaces).orElse(null);
    if (options.tcpOnly()) {
      Optional<TcpCensus> census = run("tcp", health, p -> census(null, null, namespaces, p));
      census.ifPresent(c -> tcpTables(c, namespaces, health, sample.getHost().getHostname()));
      census.ifPresent(c -> sample.setTcp(tcpSockets(c)));
    } else {
      List<Sysctl> values = run("sysctl", health, sysctls).orElse(List.of());
      sample.addAllSysctls(values);
      Optional<Sockstat> sockets = run("sockstat", health, sockstat);
      sockets.ifPresent(sample::setSockstat);
      sockets.ifPresent(k -> processTable.expectSockets(k.getTcpInuse() + k.getTcp6Inuse()));
      run("file_handles", health, fileHandles).ifPresent(sample::setFileHandles);
      run("tcp_counters", health, tcpCounters).ifPresent(sample::setTcpCounters);
      Optional<Conntrack> hostConntrack = run("conntrack", health, conntrack);
      hostConntrack.ifPresent(sample::setConntrack);
      Optional<ProcessTable.Walk> walk = run("processes", health, processTable);
      int[] range = SysctlSource.portRange(values);
      Optional<TcpCensus> census =
          run(
              "tcp",
              health,
              p -> {
                if (range == null) {
                  p.note("no usable net.ipv4.ip_local_port_range: port pressure left out");
                }
                return census(walk.orElse(null), range, namespaces, p);
              });
      if (census.isPresent() && census.get().namespaces.size() > 1) {
        run(
            "netns_tables",
            health,
            p -> {
              namespaceTables(census.get(), hostConntrack.orElse(null), p);
              return census.get();
            });
      }
      census.ifPresent(c -> tcpTables(c, namespaces, health, sample.getHost().getHostname()));
      census.ifPresent(c -> sample.setTcp(tcpSockets(c)));
      if (walk.isPresent()) {
        ProcessTable.Walk w = walk.get();
        // Without a socket table the processes are still ranked by fd usage; their per-state
        // socket counts are then unknown, and left absent.
        boolean socketsKnown = census.isPresent();
        TcpCensus c = census.orElseGet(() -> new TcpCensus(w, null));
        if (!c.unresolvedCloseWait.isEmpty()) {
          // A CLOSE_WAIT socket nobody owns means some fd table changed without changing size:
          // re-read the socket holders once so the page can still name the process.
          run(
              "attribution",
              health,
              p -> {
                processTable.rescanSocketHolders(w, p);
                c.resolveAgain();
                if (c.unresolvedDropped > 0) {
                  p.skip(
                      c.unresolvedDropped,
                      "CLOSE_WAIT sockets beyond the "
                          + TcpCensus.MAX_UNRESOLVED_CLOSE_WAIT
                          + " kept for a second attribution pass");
                }
                return c;
              });
        }
        ProcessSelector selector =
            new ProcessSelector(
                fs,
                options.topProcesses(),
                options.topEndpoints(),
                options.commandLines(),
                identities);
        run("select", health, p -> selector.select(w, c, socketsKnown, p))
            .ifPresent(sample::addAllProcesses);
        ProcessWalk.Builder pw = processWalk(w, c).toBuilder();
        if (!socketsKnown) {
          pw.clearSocketsUnattributed();
        }
        sample.setProcessWalk(pw);
        if (socketsKnown) {
          sample.setPortPressure(portPressure(range, c, values));
        }
      }
      if (census.isPresent()) {
        ListenerSelector listeners = new ListenerSelector(options.topListeners(), identities);
        run("listeners", health, p -> listeners.select(census.get(), walk.orElse(null), p))
            .ifPresent(sample::setListenQueues);
      }
    }

    health.setWallMicros((System.nanoTime() - wall0) / 1000);
    health.setCpuMicros(
        (Math.max(0, THREADS.getCurrentThreadCpuTime() - cpu0) + otherThreadsCpuNanos) / 1000);
    SelfStatus.rssBytes().ifPresent(health::setRssBytes);
    sample.setHealth(health);
    return sample.build();
  }

  /** Which TCP hash table the namespaces use, into the health; logged when asked to. */
  private void tcpTables(
      TcpCensus census,
      List<NetNamespaces.NetNamespace> namespaces,
      AgentHealth.Builder health,
      String host) {
    if (tcpTables == null || namespaces == null) {
      return;
    }
    Optional<NamespaceTcpTables> tables =
        run("tcp_tables", health, p -> tcpTables.update(namespaces, census.namespaces, p));
    if (tables.isEmpty()) {
      return;
    }
    health.setNetnsTcpTables(tables.get());
    if (!logTcpTables) {
      return;
    }
    if (!tcpTablesAnnounced) {
      tcpTablesAnnounced = true;
      log.log(System.Logger.Level.INFO, TcpTables.startupLine(host, tables.get()));
    }
    if (!tcpTablesAdvised && TcpTables.worthAdvice(tables.get())) {
      tcpTablesAdvised = true;
      log.log(System.Logger.Level.WARNING, TcpTables.adviceLine(host, tables.get()));
    }
  }

  private TcpCensus census(
      ProcessTable.Walk walk,
      int[] range,
      List<NetNamespaces.NetNamespace> namespaces,
      Problems problems)
      throws Exception {
    TcpCensus census =
        hostCensus(walk, range, namespaces == null ? null : new long[TcpState.MAX + 1], problems);
    if (namespaces != null) {
      otherNamespaces(census, namespaces, problems);
    }
    return census;
  }

  /** The agent's own namespace, through the readers in order of preference. */
  private TcpCensus hostCensus(
      ProcessTable.Walk walk, int[] range, long[] hostCounts, Problems problems) throws Exception {
    Exception first = null;
    for (SocketTable table : socketTables) {
      TcpCensus census = new TcpCensus(walk, range);
      if (hostCounts != null) {
        java.util.Arrays.fill(hostCounts, 0);
        census.enterNamespace(true, 0, hostCounts);
      }
      try {
        table.forEach(census, problems);
        if (first != null) {
          problems.note("used " + table.kind() + " after " + SourceErrors.describe(first));
        }
        if (census.unknownState > 0) {
          problems.skip(census.unknownState, "sockets in a state this build does not know");
        }
        census.reader = table.kind();
        if (hostCounts != null) {
          census.namespaces.add(
              NamespaceSockets.newBuilder()
                  .setHost(true)
                  .setReader(table.kind())
                  .setCounts(TcpState.toProto(hostCounts)));
        }
        return census;
      } catch (Exception e) {
        if (first == null) {
          first = e;
        }
        problems.note(table.kind() + " failed: " + SourceErrors.describe(e));
      }
    }
    throw first;
  }

  /**
   * Every namespace but the agent's own: entered with setns and dumped with netlink, or, where the
   * agent may not enter, read through /proc/PID/net/tcp{,6} of a member. A namespace that cannot be
   * read either way is counted as failed and its sockets are missing from the totals.
   */
  private void otherNamespaces(
      TcpCensus census, List<NetNamespaces.NetNamespace> namespaces, Problems problems) {
    NamespaceSockets.Builder host = census.namespaces.get(0);
    if (entry != null) {
      java.util.Set<Long> live = new java.util.HashSet<>();
      namespaces.forEach(n -> live.add(n.inode()));
      entry.retainOnly(live);
    }
    for (NetNamespaces.NetNamespace ns : namespaces) {
      if (ns.host()) {
        host.setInode(ns.inode()).setProcesses(ns.processes());
        if (ns.name() != null) host.setName(ns.name());
        if (ns.pid() > 0) host.setPid(ns.pid());
        continue;
      }
      NamespaceSockets.Builder b =
          NamespaceSockets.newBuilder().setInode(ns.inode()).setProcesses(ns.processes());
      if (ns.name() != null) b.setName(ns.name());
      if (ns.pid() > 0) {
        b.setPid(ns.pid());
        ProcessIdentities.Identity id = identities.read(ns.pid(), problems);
        if (id != null) b.setOwner(Identities.toProto(id));
      }
      census.namespaces.add(b);
      long[] counts = new long[TcpState.MAX + 1];
      census.enterNamespace(false, ns.inode(), counts);
      long[] seen = {0};
      SocketTable.SocketVisitor counting =
          e -> {
            seen[0]++;
            census.socket(e);
          };
      String where = ns.name() != null ? "namespace " + ns.name() : "namespace " + ns.inode();
      try {
        if (!setnsDenied && entry != null) {
          try {
            entry.dump(ns.path(), ns.inode(), counting, problems);
            b.setReader(TcpReader.TCP_READER_NETLINK).setCounts(TcpState.toProto(counts));
            continue;
          } catch (NamespaceEntry.Denied d) {
            if (d.bySetns()) {
              setnsDenied = true;
              problems.note(
                  "cannot enter network namespaces ("
                      + d.getMessage()
                      + "): counting them through /proc/PID/net/tcp of one member each");
            } else {
              problems.note(where + ": " + d.getMessage() + "; using /proc/PID/net/tcp");
            }
          } catch (java.io.IOException e) {
            if (seen[0] > 0) {
              throw e; // partial counts would be wrong counts
            }
            problems.note(where + ": " + SourceErrors.describe(e) + "; using /proc/PID/net/tcp");
          }
        }
        if (ns.pid() <= 0) {
          throw new java.io.IOException("no process lives in it to read /proc/PID/net/tcp through");
        }
        new ProcNetTcpSocketTable(fs.path(Integer.toString(ns.pid()))).forEach(counting, problems);
        census.namespacesProcFallback++;
        b.setReader(TcpReader.TCP_READER_PROC).setCounts(TcpState.toProto(counts));
      } catch (java.io.IOException | RuntimeException e) {
        census.namespacesFailed++;
        problems.skip(
            where
                + " not counted"
                + (seen[0] > 0
                    ? " (" + seen[0] + " sockets read before it failed are in the totals)"
                    : "")
                + ": "
                + SourceErrors.describe(e));
      }
    }
    census.enterNamespace(true, 0, null);
  }

  /**
   * TCP counters and conntrack count of every namespace but the agent's own, through {@code
   * /proc/PID/net} of its member: no setns needed. A namespace nobody lives in has neither. The
   * conntrack limit and hash size are the host's: the kernel keeps one for all namespaces.
   */
  private void namespaceTables(TcpCensus census, Conntrack host, Problems problems) {
    for (NamespaceSockets.Builder ns : census.namespaces) {
      if (ns.getHost() || !ns.hasPid()) {
        continue;
      }
      String where = "namespace " + (ns.hasName() ? ns.getName() : ns.getInode());
      try {
        ns.setTcpCounters(new TcpCountersSource(fs, ns.getPid() + "/net").read(problems));
      } catch (Exception e) {
        problems.skip(where + ": TCP counters: " + SourceErrors.describe(e));
      }
      long count = conntrack.namespaceCount(ns.getPid(), problems);
      if (count >= 0) {
        Conntrack.Builder ct = Conntrack.newBuilder().setCount(count);
        if (host != null && host.hasMax()) ct.setMax(host.getMax());
        if (host != null && host.hasBuckets()) ct.setBuckets(host.getBuckets());
        ns.setConntrack(ct);
      }
    }
  }

  private static TcpSockets tcpSockets(TcpCensus c) {
    long[] total = new long[TcpState.MAX + 1];
    for (int i = 0; i <= TcpState.MAX; i++) {
      total[i] = c.ipv4[i] + c.ipv6[i];
    }
    return TcpSockets.newBuilder()
        .setReader(c.reader)
        .setIpv4(TcpState.toProto(c.ipv4))
        .setIpv6(TcpState.toProto(c.ipv6))
        .setTotal(TcpState.toProto(total))
        .addAllNamespaces(c.namespaces.stream().map(NamespaceSockets.Builder::build).toList())
        .setNamespacesProcFallback(c.namespacesProcFallback)
        .setNamespacesFailed(c.namespacesFailed)
        .build();
  }

  private static ProcessWalk processWalk(ProcessTable.Walk w, TcpCensus c) {
    return ProcessWalk.newBuilder()
        .setProcessesSeen(w.seen())
        .setProcessesUnreadable(w.unreadable())
        .setProcessesVanished(w.vanished())
        .setFdsVanished(w.fdsVanished())
        .setProcessesRescanned(w.rescanned())
        .setFdLinksRead(w.linksRead())
        .setSocketsUnattributed(c.unattributed)
        .build();
  }

  private PortPressure portPressure(int[] range, TcpCensus c, List<Sysctl> values) {
    PortPressure.Builder b = PortPressure.newBuilder();
    if (range == null) {
      return b.build();
    }
    b.setRangeLow(range[0]).setRangeHigh(range[1]).setRangeSize(range[1] - range[0] + 1);
    for (EndpointCounter.Ranked r : c.portUse.top(options.topEndpoints())) {
      b.addTop(
          PortPressureEntry.newBuilder()
              .setRemote(r.endpoint())
              .setInUse(r.count())
              .setTimeWait(r.timeWait()));
    }
    return b.build();
  }

  /** Runs one source, timed, and records how it went; empty when it failed. */
  private <T> Optional<T> run(String name, AgentHealth.Builder health, ProcSource<T> source) {
    Problems problems = new Problems();
    long wall0 = System.nanoTime();
    long cpu0 = THREADS.getCurrentThreadCpuTime();
    T result = null;
    Exception failure = null;
    try {
      result = source.read(problems);
    } catch (Exception e) {
      failure = e;
    }
    // Namespace dumps run on their own thread: their CPU is added to the source that ran them.
    long elsewhere = entry == null ? 0 : entry.drainCpuNanos();
    otherThreadsCpuNanos += elsewhere;
    SourceRun.Builder run =
        SourceRun.newBuilder()
            .setSource(name)
            .setWallMicros((System.nanoTime() - wall0) / 1000)
            .setCpuMicros(
                (Math.max(0, THREADS.getCurrentThreadCpuTime() - cpu0) + elsewhere) / 1000)
            .addAllErrors(problems.reasons())
            .setSkipped(problems.skipped());
    if (failure != null) {
      run.setStatus(SourceStatus.SOURCE_STATUS_FAILED).addErrors(SourceErrors.describe(failure));
    } else {
      run.setStatus(
          problems.isEmpty() ? SourceStatus.SOURCE_STATUS_OK : SourceStatus.SOURCE_STATUS_PARTIAL);
    }
    health.addSources(run);
    return Optional.ofNullable(result);
  }

  /** Namespaces whose netlink socket is kept for the next sample (see {@link NamespaceEntry}). */
  java.util.Set<Long> keptNamespaceSockets() {
    return entry == null ? java.util.Set.of() : entry.keptSockets();
  }

  static TcpStateCounts zeroCounts() {
    return TcpState.toProto(new long[TcpState.MAX + 1]);
  }

  static EndpointCount endpoint(EndpointCounter.Ranked r) {
    return EndpointCount.newBuilder().setEndpoint(r.endpoint()).setCount(r.count()).build();
  }
}
