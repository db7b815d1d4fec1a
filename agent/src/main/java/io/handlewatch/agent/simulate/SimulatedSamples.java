package io.handlewatch.agent.simulate;

import com.google.protobuf.Timestamp;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.FileHandles;
import io.handlewatch.proto.v1.HostIdentity;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.PortPressure;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.SelectedBy;
import io.handlewatch.proto.v1.Sockstat;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpReader;
import io.handlewatch.proto.v1.TcpSockets;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.util.SplittableRandom;

/**
 * Realistic samples for a simulated host: a few thousand TCP sockets drifting from sample to
 * sample, sockstat and file handles, {@code processes} processes with fds against their limits and
 * socket counts, two of them holding CLOSE_WAIT sockets towards a peer, port pressure towards three
 * remotes, and the usual sysctls (sent in the first report of a stream only, as a real agent does).
 */
final class SimulatedSamples {
  private static final String[] COMMS = {
    "java",
    "nginx",
    "postgres",
    "envoy",
    "node",
    "python3",
    "redis-server",
    "sshd",
    "containerd",
    "kubelet"
  };

  private final HostSample template;
  private final SplittableRandom random;
  private long established;
  private long closeWait;
  private long timeWait;

  SimulatedSamples(String host, int processes, SplittableRandom random) {
    this.random = random;
    established = 500 + random.nextInt(5000);
    closeWait = random.nextInt(20);
    timeWait = 100 + random.nextInt(2000);
    HostSample.Builder s =
        HostSample.newBuilder()
            .setHost(
                HostIdentity.newBuilder()
                    .setHostname(host)
                    .setMachineId(
                        Long.toHexString(random.nextLong()) + Long.toHexString(random.nextLong()))
                    .setKernelRelease("6.1.0-28-amd64"))
            .setSockstat(
                Sockstat.newBuilder()
                    .setSocketsUsed(2000)
                    .setTcpInuse(established)
                    .setTcpOrphan(0)
                    .setTcpTw(timeWait)
                    .setTcpAlloc(established + 50)
                    .setTcpMemPages(300))
            .setFileHandles(
                FileHandles.newBuilder()
                    .setAllocated(9000)
                    .setMax(9_223_372)
                    .setNrOpen(1_048_576)
                    .setUsedRatio(0.001))
            .setHealth(
                AgentHealth.newBuilder()
                    .setWallMicros(40_000)
                    .setCpuMicros(35_000)
                    .setRssBytes(60L << 20));
    for (int i = 0; i < processes; i++) {
      long limit = i % 3 == 0 ? 1024 : 65_536;
      long fds = 20 + random.nextInt((int) Math.min(limit / 2, 5000));
      var p =
          ProcessSample.newBuilder()
              .setPid(1000 + i * 37)
              .setComm(COMMS[i % COMMS.length])
              .setFds(fds)
              .setSoftLimit(limit)
              .setHardLimit(limit * 4)
              .setUsedRatio((double) fds / limit)
              .setSockets(
                  TcpStateCounts.newBuilder().setEstablished(fds / 3).setCloseWait(i < 2 ? 3 : 0))
              .setSelectedBy(i < 2 ? SelectedBy.SELECTED_BY_BOTH : SelectedBy.SELECTED_BY_FD_RATIO)
              .setStartTicks(100_000 + i);
      if (i < 2) {
        p.addCloseWaitPeers(
            EndpointCount.newBuilder().setEndpoint("10.1." + i + ".7:5432").setCount(2));
        p.addCloseWaitPeers(
            EndpointCount.newBuilder().setEndpoint("10.1." + i + ".8:6379").setCount(1));
      }
      s.addProcesses(p);
    }
    var pp = PortPressure.newBuilder().setRangeLow(32768).setRangeHigh(60999).setRangeSize(28232);
    for (int i = 0; i < 3; i++) {
      pp.addTop(
          PortPressureEntry.newBuilder()
              .setRemote("10.2.0." + (10 + i) + ":443")
              .setInUse(100 + random.nextInt(900))
              .setTimeWait(random.nextInt(300)));
    }
    s.setPortPressure(pp);
    String[][] sysctls = {
      {"fs.file-max", "9223372036854775807"},
      {"fs.nr_open", "1048576"},
      {"net.core.somaxconn", "4096"},
      {"net.ipv4.ip_local_port_range", "32768\t60999"},
      {"net.ipv4.tcp_fin_timeout", "60"},
      {"net.ipv4.tcp_max_tw_buckets", "262144"},
      {"net.ipv4.tcp_tw_reuse", "2"},
      {"net.ipv4.tcp_keepalive_time", "7200"},
      {"net.ipv4.tcp_max_syn_backlog", "4096"},
      {"net.core.netdev_max_backlog", "1000"}
    };
    for (String[] kv : sysctls) s.addSysctls(Sysctl.newBuilder().setName(kv[0]).setValue(kv[1]));
    template = s.build();
  }

  /** The next sample, at {@code epochMillis}; sysctls only when {@code withSysctls}. */
  HostSample next(long epochMillis, boolean withSysctls) {
    established = Math.max(0, established + random.nextInt(-40, 41));
    timeWait = Math.max(0, timeWait + random.nextInt(-30, 31));
    closeWait = Math.max(0, closeWait + random.nextInt(-1, 2));
    HostSample.Builder s = template.toBuilder();
    s.setTime(
        Timestamp.newBuilder()
            .setSeconds(epochMillis / 1000)
            .setNanos((int) (epochMillis % 1000) * 1_000_000));
    s.setTcp(
        TcpSockets.newBuilder()
            .setReader(TcpReader.TCP_READER_NETLINK)
            .setTotal(
                TcpStateCounts.newBuilder()
                    .setEstablished(established)
                    .setCloseWait(closeWait)
                    .setTimeWait(timeWait)
                    .setListen(25)
                    .setSynSent(random.nextInt(3))
                    .setFinWait2(random.nextInt(10))));
    s.getSockstatBuilder().setTcpInuse(established + closeWait).setTcpTw(timeWait);
    if (!withSysctls) s.clearSysctls();
    return s.build();
  }
}
