package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcNetTcpSocketTable;
import io.handlewatch.agent.source.SocketTable;
import io.handlewatch.agent.source.natives.NetlinkSocketTable;
import io.handlewatch.agent.testing.NetnsFixture;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.NamespaceSockets;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The kernel tables against the real kernel, on loopback: a full accept queue (backlog 8, never
 * accepted) compared with {@code ss -ltn}, orphaned sockets compared with /proc/net/sockstat, and
 * conntrack entries inside a test namespace ({@code hw13a-}) compared with the kernel's own
 * nf_conntrack_count read in there.
 */
class KernelTablesIT {
  static final InetAddress LO = InetAddress.getLoopbackAddress();

  static Sampler sampler(SocketTable table) {
    return new Sampler(
        ProcFs.host(),
        List.of(table),
        new SampleOptions(
            100_000,
            10,
            false,
            List.of(),
            1,
            null,
            null,
            CommandLines.FULL,
            true,
            Path.of("/"),
            java.util.Map.of(),
            10_000),
        Clock.systemUTC());
  }

  @Test
  void aFullAcceptQueueIsReportedWithItsOwnerAndOverflowsRise() throws Exception {
    List<SocketChannel> clients = new ArrayList<>();
    try (ServerSocketChannel server =
        ServerSocketChannel.open().bind(new InetSocketAddress(LO, 0), 8)) {
      int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
      HostSample before = sampler(new NetlinkSocketTable()).sample();
      assertThat(before.hasTcpCounters()).isTrue();
      // A bounded burst, more than the queue holds; nobody ever accepts.
      for (int i = 0; i < 16; i++) {
        SocketChannel c = SocketChannel.open();
        c.configureBlocking(false);
        c.connect(new InetSocketAddress(LO, port));
        clients.add(c);
      }
      await(() -> ssListen(port) != null && ssListen(port)[0] > 8, "ss shows the queue full");
      long[] ss = ssListen(port);
      HostSample s = sampler(new NetlinkSocketTable()).sample();
      assertThat(ssListen(port)).as("the queue held still").isEqualTo(ss);

      Listener l = listener(s, "127.0.0.1:" + port);
      assertThat(l.getQueue()).as("Recv-Q of ss -ltn").isEqualTo(ss[0]);
      assertThat(l.getBacklog()).as("Send-Q of ss -ltn").isEqualTo(ss[1]).isEqualTo(8);
      assertThat(l.getQueue()).as("full: the kernel admits backlog + 1").isGreaterThan(8);
      assertThat(l.getPid()).isEqualTo((int) ProcessHandle.current().pid());
      assertThat(l.getComm())
          .isEqualTo(ProcFs.readCapped(Path.of("/proc/self/comm"), 4096).strip());
      assertThat(l.hasNetns()).as("the host's own namespace").isFalse();
      assertThat(l.getIdentity().getCgroup()).startsWith("/");
      assertThat(s.getListenQueues().getListenersTotal())
          .isGreaterThanOrEqualTo(s.getListenQueues().getListenersCount());
      assertThat(s.getTcpCounters().getListenOverflows())
          .as("SYNs beyond the full queue were dropped")
          .isGreaterThan(before.getTcpCounters().getListenOverflows());
      assertThat(s.getTcpCounters().getListenDrops())
          .isGreaterThanOrEqualTo(s.getTcpCounters().getListenOverflows());
      assertThat(SampleText.render(s))
          .containsPattern(
              "127\\.0\\.0\\.1:" + port + " +" + ss[0] + " +8 +\\d+ +" + l.getPid() + " ");

      // The /proc/net/tcp fallback sees the same queue, but not the backlog.
      Listener viaProc =
          listener(
              sampler(new ProcNetTcpSocketTable(Path.of("/proc"))).sample(), "127.0.0.1:" + port);
      assertThat(viaProc.getQueue()).isEqualTo(ss[0]);
      assertThat(viaProc.getBacklog()).isZero();
      assertThat(viaProc.getPid()).isEqualTo(l.getPid());
    } finally {
      for (SocketChannel c : clients) {
        c.close();
      }
    }
  }

  @Test
  void orphansAreCountedAsTheKernelCountsThem() throws Exception {
    int n = 6;
    List<SocketChannel> accepted = new ArrayList<>();
    try (ServerSocketChannel server = ServerSocketChannel.open()) {
      server.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
      server.bind(new InetSocketAddress(LO, 0), 16);
      long orphansBefore = sockstatOrphans();
      ByteBuffer junk = ByteBuffer.allocate(64 * 1024);
      for (int i = 0; i < n; i++) {
        SocketChannel c = SocketChannel.open(server.getLocalAddress());
        accepted.add(server.accept());
        c.configureBlocking(false);
        c.setOption(StandardSocketOptions.SO_SNDBUF, 4096);
        // Fill the peer's window and our send buffer: the peer never reads.
        for (int k = 0; k < 10_000; k++) {
          junk.clear();
          if (c.write(junk) == 0) break;
        }
        c.close(); // data unsent, no fd: an orphan
      }
      await(() -> sockstatOrphans() >= orphansBefore + n, "sockstat orphans rise by " + n);
      // Other tests on the host may orphan sockets too: compare only a sample the kernel's
      // figure held still around.
      Sampler sampler = sampler(new NetlinkSocketTable());
      for (int attempt = 1; ; attempt++) {
        long k0 = sockstatOrphans();
        HostSample s = sampler.sample();
        long k1 = sockstatOrphans();
        if (k0 == k1 || attempt == 10) {
          assertThat(k1).as("sockstat held still around the sample").isEqualTo(k0);
          assertThat(s.getSockstat().getTcpOrphan()).isEqualTo(k0);
          assertThat(s.getSockstat().getTcpOrphan()).isGreaterThanOrEqualTo(n);
          assertThat(s.getSysctlsList())
              .anySatisfy(x -> assertThat(x.getName()).isEqualTo("net.ipv4.tcp_max_orphans"))
              .anySatisfy(x -> assertThat(x.getName()).isEqualTo("net.ipv4.tcp_mem"));
          break;
        }
      }
    } finally {
      // Closing with unread data resets the connections, which ends the orphans.
      for (SocketChannel a : accepted) {
        a.close();
      }
    }
  }

  @Test
  void conntrackEntriesInATestNamespaceEqualTheKernelsCount() throws Exception {
    assumeTrue(
        "root".equals(System.getProperty("user.name")), "needs root: ip netns add, iptables");
    assumeTrue(
        Files.isDirectory(Path.of("/proc/sys/net/netfilter")),
        "this kernel has no conntrack (/proc/sys/net/netfilter)");
    try (NetnsFixture fixture = new NetnsFixture("hw13a-")) {
      String ns = fixture.add("ct");
      // A rule that needs connection tracking turns it on in that namespace.
      NetnsFixture.run(
          "ip",
          "netns",
          "exec",
          ns,
          "iptables",
          "-A",
          "INPUT",
          "-m",
          "conntrack",
          "--ctstate",
          "NEW,ESTABLISHED,RELATED",
          "-j",
          "ACCEPT");
      NetnsFixture.Child child = fixture.start(ns, 3, 2, 2);
      Sampler sampler = sampler(new NetlinkSocketTable());
      for (int attempt = 1; ; attempt++) {
        long k0 = kernelCount(ns);
        HostSample s = sampler.sample();
        long k1 = kernelCount(ns);
        if (k0 == k1 || attempt == 10) {
          assertThat(k1).as("the namespace's table held still around the sample").isEqualTo(k0);
          NamespaceSockets n =
              s.getTcp().getNamespacesList().stream()
                  .filter(x -> ns.equals(x.getName()))
                  .findFirst()
                  .orElseThrow();
          assertThat(n.getPid()).isEqualTo(child.pid());
          assertThat(n.getConntrack().getCount())
              .as("agent count, kernel said " + k0)
              .isEqualTo(k0);
          assertThat(k0).as("loopback connections made entries").isGreaterThanOrEqualTo(6);
          assertThat(n.getConntrack().getMax())
              .as("namespace max")
              .isEqualTo(sysctl("nf_conntrack_max"));
          assertThat(n.getTcpCounters().getOutSegs()).as("its own counters").isPositive();
          assertThat(SampleText.render(s)).containsPattern(" " + k0 + "  netns " + ns + " ");
          assertThat(s.getConntrack().getMax())
              .as("host max")
              .isEqualTo(sysctl("nf_conntrack_max"));
          assertThat(s.getConntrack().getBuckets())
              .as("host buckets")
              .isEqualTo(sysctl("nf_conntrack_buckets"));
          break;
        }
      }
    }
  }

  static long sysctl(String name) throws IOException {
    // Not Files.readString: it trusts the reported size of a sysctl file and can return one byte.
    return Long.parseLong(
        ProcFs.readCapped(Path.of("/proc/sys/net/netfilter/" + name), 4096).strip());
  }

  static long kernelCount(String ns) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(
                "ip", "netns", "exec", ns, "cat", "/proc/sys/net/netfilter/nf_conntrack_count")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("nf_conntrack_count in " + ns + ": " + out);
    }
    return Long.parseLong(out);
  }

  static Listener listener(HostSample s, String local) {
    return s.getListenQueues().getListenersList().stream()
        .filter(l -> l.getLocal().equals(local))
        .findFirst()
        .orElseThrow(() -> new AssertionError(local + " not in " + s.getListenQueues()));
  }

  /** {Recv-Q, Send-Q} of the listener on 127.0.0.1:port as {@code ss -ltn} prints them. */
  static long[] ssListen(int port) {
    try {
      Process p =
          new ProcessBuilder("ss", "-Hltn", "sport = :" + port).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0 || out.isEmpty()) {
        return null;
      }
      String[] f = out.split("\\s+");
      return new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])};
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static long sockstatOrphans() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/net/sockstat"))) {
        if (line.startsWith("TCP:")) {
          String[] f = line.split("\\s+");
          for (int i = 1; i + 1 < f.length; i += 2) {
            if (f[i].equals("orphan")) return Long.parseLong(f[i + 1]);
          }
        }
      }
      throw new IllegalStateException("no TCP orphan in /proc/net/sockstat");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(20);
    }
  }
}
