package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.FileHandlesSource;
import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcSource;
import io.handlewatch.agent.source.ProcessTable;
import io.handlewatch.agent.source.SocketTable;
import io.handlewatch.agent.source.SockstatSource;
import io.handlewatch.agent.source.SourceErrors;
import io.handlewatch.agent.source.SysctlSource;
import io.handlewatch.agent.source.TcpState;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.PortPressure;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessWalk;
import io.handlewatch.proto.v1.Sockstat;
import io.handlewatch.proto.v1.SourceRun;
import io.handlewatch.proto.v1.SourceStatus;
import io.handlewatch.proto.v1.Sysctl;
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

  private final ProcFs fs;
  private final List<SocketTable> socketTables;
  private final SampleOptions options;
  private final SysctlSource sysctls;
  private final SockstatSource sockstat;
  private final FileHandlesSource fileHandles;
  private final ProcessTable processTable;
  private final HostIdentityReader identity;
  private final Clock clock;

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
    this.processTable = new ProcessTable(fs, options.fullRescanEvery());
    this.identity = new HostIdentityReader(fs, options.hostname(), options.machineIdFile());
  }

  public HostSample sample() {
    long wall0 = System.nanoTime();
    long cpu0 = THREADS.getCurrentThreadCpuTime();
    HostSample.Builder sample = HostSample.newBuilder();
    AgentHealth.Builder health = AgentHealth.newBuilder();
    sample.setTime(Times.toProto(clock.instant()));
    sample.setHost(identity.read());

    if (options.tcpOnly()) {
      run("tcp", health, p -> census(null, null, p)).ifPresent(c -> sample.setTcp(tcpSockets(c)));
    } else {
      List<Sysctl> values = run("sysctl", health, sysctls).orElse(List.of());
      sample.addAllSysctls(values);
      Optional<Sockstat> sockets = run("sockstat", health, sockstat);
      sockets.ifPresent(sample::setSockstat);
      sockets.ifPresent(k -> processTable.expectSockets(k.getTcpInuse() + k.getTcp6Inuse()));
      run("file_handles", health, fileHandles).ifPresent(sample::setFileHandles);
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
                return census(walk.orElse(null), range, p);
              });
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
                fs, options.topProcesses(), options.topEndpoints(), options.commandLines());
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
    }

    health.setWallMicros((System.nanoTime() - wall0) / 1000);
    health.setCpuMicros(Math.max(0, THREADS.getCurrentThreadCpuTime() - cpu0) / 1000);
    SelfStatus.rssBytes().ifPresent(health::setRssBytes);
    sample.setHealth(health);
    return sample.build();
  }

  private TcpCensus census(ProcessTable.Walk walk, int[] range, Problems problems)
      throws Exception {
    Exception first = null;
    for (SocketTable table : socketTables) {
      TcpCensus census = new TcpCensus(walk, range);
      try {
        table.forEach(census, problems);
        if (first != null) {
          problems.note("used " + table.kind() + " after " + SourceErrors.describe(first));
        }
        if (census.unknownState > 0) {
          problems.skip(census.unknownState, "sockets in a state this build does not know");
        }
        census.reader = table.kind();
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
    SourceRun.Builder run =
        SourceRun.newBuilder()
            .setSource(name)
            .setWallMicros((System.nanoTime() - wall0) / 1000)
            .setCpuMicros(Math.max(0, THREADS.getCurrentThreadCpuTime() - cpu0) / 1000)
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

  static TcpStateCounts zeroCounts() {
    return TcpState.toProto(new long[TcpState.MAX + 1]);
  }

  static EndpointCount endpoint(EndpointCounter.Ranked r) {
    return EndpointCount.newBuilder().setEndpoint(r.endpoint()).setCount(r.count()).build();
  }
}
