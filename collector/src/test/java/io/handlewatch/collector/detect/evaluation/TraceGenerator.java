package io.handlewatch.collector.detect.evaluation;

import com.google.protobuf.Timestamp;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.FileHandles;
import io.handlewatch.proto.v1.HostIdentity;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.PortPressure;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.ProcessWalk;
import io.handlewatch.proto.v1.SelectedBy;
import io.handlewatch.proto.v1.Sockstat;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpReader;
import io.handlewatch.proto.v1.TcpSockets;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Builds a host's reports, every 10 s, from simulated processes whose fds and CLOSE_WAIT counts are
 * functions of time (plus seeded noise): deterministic for a given seed. Around them the host looks
 * like a real one: a few quiet processes, file-nr that follows the fds, TIME_WAIT churn, sockstat,
 * agent health, port pressure towards a database, and sysctls in the first report and hourly, as
 * agents send them.
 */
public final class TraceGenerator {
  /** A value over time: minutes since the trace began, and the trace's random source. */
  @FunctionalInterface
  public interface Curve {
    double at(double minute, Random rng);

    static Curve constant(double v) {
      return (m, r) -> v;
    }
  }

  /**
   * A simulated process, alive in {@code [fromMinute, toMinute)}.
   *
   * @param peer the remote endpoint its CLOSE_WAIT sockets point at
   * @param unreadable the agent cannot read its fd table (another user, no CAP_SYS_PTRACE): its
   *     sockets are in the host's totals and in sockets_unattributed, the process is not sampled
   */
  public record Process(
      int pid,
      long startTicks,
      String comm,
      long softLimit,
      Curve fds,
      Curve closeWait,
      String peer,
      double fromMinute,
      double toMinute,
      boolean unreadable) {
    public Process(
        int pid,
        long startTicks,
        String comm,
        long softLimit,
        Curve fds,
        Curve closeWait,
        String peer,
        double fromMinute,
        double toMinute) {
      this(pid, startTicks, comm, softLimit, fds, closeWait, peer, fromMinute, toMinute, false);
    }

    boolean aliveAt(double minute) {
      return minute >= fromMinute && minute < toMinute;
    }
  }

  static final Duration INTERVAL = Duration.ofSeconds(10);
  static final long FILE_MAX = 2_466_170;
  static final String DATABASE = "10.0.0.5:5432";

  private final String host;
  private final Instant start;
  private final Random rng;
  private final List<Process> processes = new ArrayList<>();

  public TraceGenerator(String host, Instant start, long seed) {
    this.host = host;
    this.start = start;
    this.rng = new Random(seed);
    // The quiet neighbours every host has.
    add(new Process(811, 2_000, "nginx", 65_536, jitter(140, 6), Curve.constant(0), null, 0, 1e9));
    add(new Process(612, 1_500, "sshd", 1_024, jitter(18, 1), Curve.constant(0), null, 0, 1e9));
  }

  public TraceGenerator add(Process p) {
    processes.add(p);
    return this;
  }

  public Instant at(double minute) {
    return start.plusMillis((long) (minute * 60_000));
  }

  /** A steady value with uniform noise of ±amplitude. */
  public static Curve jitter(double level, double amplitude) {
    return (m, r) -> level + (r.nextDouble() * 2 - 1) * amplitude;
  }

  /** The reports of {@code minutes} minutes. */
  public List<HostReport> generate(double minutes) {
    List<HostReport> out = new ArrayList<>();
    long steps = (long) (minutes * 60 / INTERVAL.toSeconds());
    for (long i = 0; i <= steps; i++) out.add(report(i));
    return out;
  }

  /** The report of step {@code i} (one step per 10 s interval); call in step order. */
  public HostReport report(long i) {
    double minute = i * INTERVAL.toSeconds() / 60.0;
    // Agents sample on a jittered schedule: a few hundred ms either way.
    Instant t = at(minute).plusMillis(rng.nextInt(400) - 200);
    return HostReport.newBuilder().setSeq(i + 1).setSample(sample(minute, t, i % 360 == 0)).build();
  }

  private HostSample sample(double minute, Instant t, boolean withSysctls) {
    HostSample.Builder s =
        HostSample.newBuilder()
            .setTime(Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()))
            .setHost(HostIdentity.newBuilder().setHostname(host).setKernelRelease("6.1.0"));
    long fdsTotal = 0;
    long closeWaitTotal = 0;
    long established = 180;
    long unreadable = 0;
    long unattributed = 0;
    // Each CLOSE_WAIT socket of an outgoing connection still holds its ephemeral port towards
    // its peer: port pressure grows with a leak, as the agent's own count would.
    java.util.Map<String, Long> portsHeld = new java.util.HashMap<>();
    for (Process p : processes) {
      if (!p.aliveAt(minute)) continue;
      long cw = Math.max(0, Math.round(p.closeWait().at(minute, rng)));
      long fds = Math.max(cw + 8, Math.round(p.fds().at(minute, rng)));
      fds = Math.min(fds, p.softLimit());
      long est = (fds - cw) / 2;
      fdsTotal += fds;
      closeWaitTotal += cw;
      established += est;
      if (p.peer() != null && cw > 0) portsHeld.merge(p.peer(), cw, Long::sum);
      if (p.unreadable()) {
        unreadable++;
        unattributed += cw + est;
        continue;
      }
      ProcessSample.Builder ps =
          ProcessSample.newBuilder()
              .setPid(p.pid())
              .setComm(p.comm())
              .setCmdline("/usr/bin/" + p.comm())
              .setFds(fds)
              .setSoftLimit(p.softLimit())
              .setHardLimit(Math.max(p.softLimit(), 524_288))
              .setUsedRatio((double) fds / p.softLimit())
              .setSockets(
                  TcpStateCounts.newBuilder().setEstablished(est).setCloseWait(cw).setListen(2))
              .setSelectedBy(cw > 0 ? SelectedBy.SELECTED_BY_BOTH : SelectedBy.SELECTED_BY_FD_RATIO)
              .setStartTicks(p.startTicks());
      if (cw > 0 && p.peer() != null) {
        ps.addCloseWaitPeers(EndpointCount.newBuilder().setEndpoint(p.peer()).setCount(cw));
      }
      s.addProcesses(ps);
    }
    long timeWait = Math.round(300 + (rng.nextDouble() * 2 - 1) * 40);
    long allocated = 6_000 + fdsTotal;
    s.setTcp(
        TcpSockets.newBuilder()
            .setReader(TcpReader.TCP_READER_NETLINK)
            .setTotal(
                TcpStateCounts.newBuilder()
                    .setEstablished(established)
                    .setCloseWait(closeWaitTotal)
                    .setTimeWait(timeWait)
                    .setListen(12)));
    // Derived from the counts above, not drawn: the traces' random sequence stays as evaluated.
    long inuse = established + closeWaitTotal + 12;
    s.setSockstat(
        Sockstat.newBuilder()
            .setSocketsUsed(inuse + 400)
            .setTcpInuse(inuse)
            .setTcpOrphan(0)
            .setTcpTw(timeWait)
            .setTcpAlloc(inuse + timeWait)
            .setTcpMemPages(inuse / 10));
    // What the agent says of itself: a fixed, typical cost (again no draw).
    s.setHealth(AgentHealth.newBuilder().setWallMicros(40_000).setCpuMicros(35_000));
    s.setFileHandles(
        FileHandles.newBuilder()
            .setAllocated(allocated)
            .setMax(FILE_MAX)
            .setNrOpen(1_048_576)
            .setUsedRatio((double) allocated / FILE_MAX));
    s.setProcessWalk(
        ProcessWalk.newBuilder()
            .setProcessesSeen(processes.size() + 120)
            .setProcessesUnreadable(unreadable)
            .setSocketsUnattributed(unattributed));
    PortPressure.Builder pp =
        PortPressure.newBuilder()
            .setRangeLow(32_768)
            .setRangeHigh(60_999)
            .setRangeSize(28_232)
            .addTop(
                PortPressureEntry.newBuilder()
                    .setRemote(DATABASE)
                    .setInUse(
                        Math.round(220 + (rng.nextDouble() * 2 - 1) * 15)
                            + portsHeld.getOrDefault(DATABASE, 0L))
                    .setTimeWait(timeWait / 3));
    for (var e : portsHeld.entrySet()) {
      if (e.getKey().equals(DATABASE)) continue;
      pp.addTop(PortPressureEntry.newBuilder().setRemote(e.getKey()).setInUse(e.getValue()));
    }
    s.setPortPressure(pp);
    if (withSysctls) {
      sysctl(s, "fs.file-max", Long.toString(FILE_MAX));
      sysctl(s, "fs.nr_open", "1048576");
      sysctl(s, "net.core.somaxconn", "4096");
      sysctl(s, "net.ipv4.ip_local_port_range", "32768 60999");
      sysctl(s, "net.ipv4.tcp_fin_timeout", "60");
      sysctl(s, "net.ipv4.tcp_max_tw_buckets", "262144");
      sysctl(s, "net.ipv4.tcp_tw_reuse", "2");
    }
    return s.build();
  }

  private static void sysctl(HostSample.Builder s, String name, String value) {
    s.addSysctls(Sysctl.newBuilder().setName(name).setValue(value));
  }
}
