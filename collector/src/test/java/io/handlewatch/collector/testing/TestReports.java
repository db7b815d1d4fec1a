package io.handlewatch.collector.testing;

import com.google.protobuf.Timestamp;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.Conntrack;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.FileHandles;
import io.handlewatch.proto.v1.HostIdentity;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.ListenQueues;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.PortPressure;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.SelectedBy;
import io.handlewatch.proto.v1.Sockstat;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpCounters;
import io.handlewatch.proto.v1.TcpReader;
import io.handlewatch.proto.v1.TcpSockets;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.time.Instant;

/** Realistic reports for tests, with every value derived from (host, seq) so tests can check. */
public final class TestReports {
  private TestReports() {}

  /** A report of {@code host} numbered {@code seq}, sampled at {@code time}. */
  public static HostReport report(String host, long seq, Instant time) {
    return HostReport.newBuilder().setSeq(seq).setSample(sample(host, seq, time)).build();
  }

  /** Established sockets in report {@code seq}; close_wait is seq itself. */
  public static long established(long seq) {
    return 1000 + seq;
  }

  public static HostSample sample(String host, long seq, Instant time) {
    TcpStateCounts total =
        TcpStateCounts.newBuilder()
            .setEstablished(established(seq))
            .setCloseWait(seq)
            .setTimeWait(300 + seq)
            .setListen(12)
            .setSynSent(1)
            .build();
    return HostSample.newBuilder()
        .setTime(ts(time))
        .setHost(HostIdentity.newBuilder().setHostname(host).setKernelRelease("6.18.0"))
        .setTcp(TcpSockets.newBuilder().setReader(TcpReader.TCP_READER_NETLINK).setTotal(total))
        .setSockstat(
            Sockstat.newBuilder()
                .setTcpInuse(1100 + seq)
                .setTcpOrphan(0)
                .setTcpTw(300 + seq)
                .setTcpAlloc(1200 + seq)
                .setTcpMemPages(40))
        .setFileHandles(
            FileHandles.newBuilder()
                .setAllocated(5000 + seq)
                .setMax(1_000_000)
                .setNrOpen(1_048_576)
                .setUsedRatio((5000 + seq) / 1_000_000.0))
        .addProcesses(process(4242, "java", 800 + seq, 1024, seq))
        .addProcesses(process(77, "nginx", 120, 65536, 0))
        .setPortPressure(
            PortPressure.newBuilder()
                .setRangeLow(32768)
                .setRangeHigh(60999)
                .setRangeSize(28232)
                .addTop(
                    PortPressureEntry.newBuilder()
                        .setRemote("10.0.0.5:5432")
                        .setInUse(200 + seq)
                        .setTimeWait(10)))
        .addSysctls(Sysctl.newBuilder().setName("net.core.somaxconn").setValue("4096"))
        .addSysctls(
            Sysctl.newBuilder().setName("net.ipv4.ip_local_port_range").setValue("32768\t60999"))
        .setHealth(AgentHealth.newBuilder().setWallMicros(2000).setCpuMicros(1500))
        .build();
  }

  /** A process with fds open of a soft limit, holding close_wait sockets towards one peer. */
  public static ProcessSample process(int pid, String comm, long fds, long limit, long closeWait) {
    var p =
        ProcessSample.newBuilder()
            .setPid(pid)
            .setComm(comm)
            .setFds(fds)
            .setSoftLimit(limit)
            .setHardLimit(limit * 4)
            .setUsedRatio((double) fds / limit)
            .setSockets(TcpStateCounts.newBuilder().setEstablished(fds / 2).setCloseWait(closeWait))
            .setSelectedBy(SelectedBy.SELECTED_BY_FD_RATIO)
            .setStartTicks(123456);
    if (closeWait > 0) {
      p.addCloseWaitPeers(
          EndpointCount.newBuilder().setEndpoint("10.0.0.9:8080").setCount(closeWait));
    }
    return p.build();
  }

  /**
   * {@code r} with the kernel tables filled from its seq: conntrack seq*10 of 262,144 in the host's
   * namespace and 5 in each of two pods of Kubernetes namespace "shop", TCP counters (overflows
   * 100+seq), and three listeners: nginx on :443 (queue seq of backlog 128, pid 812), and two java
   * replicas in "shop" on 0.0.0.0:8080 (queues 3 and 7 of 50).
   */
  public static HostReport withKernelTables(HostReport r) {
    long seq = r.getSeq();
    var s = r.getSample().toBuilder();
    s.setConntrack(Conntrack.newBuilder().setCount(seq * 10).setMax(262_144).setBuckets(65_536));
    var shop = ProcessIdentity.newBuilder().setCgroup("/kubepods/x").setPodNamespace("shop");
    var tcp = s.getTcpBuilder();
    tcp.addNamespaces(
        NamespaceSockets.newBuilder()
            .setHost(true)
            .setInode(4026531840L)
            .setCounts(tcp.getTotal())
            .setConntrack(Conntrack.newBuilder().setCount(seq * 10).setMax(262_144)));
    for (int i = 0; i < 2; i++) {
      tcp.addNamespaces(
          NamespaceSockets.newBuilder()
              .setInode(4026532000L + i)
              .setOwner(shop)
              .setCounts(TcpStateCounts.newBuilder().setEstablished(3))
              .setConntrack(Conntrack.newBuilder().setCount(5).setMax(262_144)));
    }
    s.setTcpCounters(
        TcpCounters.newBuilder()
            .setListenOverflows(100 + seq)
            .setListenDrops(110 + seq)
            .setAbortOnMemory(1)
            .setAbortOnTimeout(2)
            .setRetransSegs(3000 + seq)
            .setOutSegs(90_000 + seq)
            .setAttemptFails(4)
            .setEstabResets(5)
            .setReqQFullDrop(0)
            .setSyncookiesSent(6));
    s.setListenQueues(
        ListenQueues.newBuilder()
            .setListenersTotal(12)
            .addListeners(
                Listener.newBuilder()
                    .setLocal("0.0.0.0:443")
                    .setQueue(seq)
                    .setBacklog(128)
                    .setSynRecv(2)
                    .setPid(812)
                    .setComm("nginx"))
            .addListeners(
                Listener.newBuilder()
                    .setLocal("0.0.0.0:8080")
                    .setQueue(3)
                    .setBacklog(50)
                    .setSynRecv(1)
                    .setPid(900)
                    .setComm("java")
                    .setNetns(4026532000L)
                    .setIdentity(shop))
            .addListeners(
                Listener.newBuilder()
                    .setLocal("0.0.0.0:8080")
                    .setQueue(7)
                    .setBacklog(50)
                    .setSynRecv(1)
                    .setPid(901)
                    .setComm("java")
                    .setNetns(4026532001L)
                    .setIdentity(shop)));
    return r.toBuilder().setSample(s).build();
  }

  public static Timestamp ts(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }
}
