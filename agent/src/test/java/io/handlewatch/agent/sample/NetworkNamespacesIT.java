package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.natives.NetlinkSocketTable;
import io.handlewatch.agent.testing.NetnsFixture;
import io.handlewatch.agent.testing.SsSnapshot;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.TcpReader;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real network namespaces ({@code ip netns add}) holding real sockets over IPv4 and IPv6 in
 * ESTABLISHED, CLOSE_WAIT, TIME_WAIT, FIN_WAIT2 and LISTEN: the agent's count of each namespace
 * must equal {@code ip netns exec NS ss -tan} taken before and after the sample, the host totals
 * must be the sum over namespaces, and CLOSE_WAIT must be attributed to the right pid and remote.
 * Once as root (setns + netlink), once without CAP_SYS_ADMIN through the real launcher (the
 * /proc/PID/net fallback), which must give the same counts.
 */
class NetworkNamespacesIT {
  static final Path LAUNCHER = Path.of("../bin/handlewatch-agent").toAbsolutePath().normalize();

  static NetnsFixture fixture;
  static String nsA;
  static String nsB;
  static String nsOrphan;
  static NetnsFixture.Child childA;
  static NetnsFixture.Child childB;

  @BeforeAll
  static void namespaces() throws Exception {
    assumeTrue(
        "root".equals(System.getProperty("user.name")), "needs root: ip netns add and setns");
    fixture = new NetnsFixture();
    nsA = fixture.add("a");
    nsB = fixture.add("b");
    nsOrphan = fixture.add("orphan");
    childA = fixture.start(nsA, 3, 4, 2);
    childB = fixture.start(nsB, 5, 2, 3);
    // A namespace nobody lives in any more, holding only sockets that outlive their process.
    NetnsFixture.Child gone = fixture.start(nsOrphan, 1, 1, 4);
    NetnsFixture.stop(gone);
    awaitNoneIn(nsOrphan, "CLOSE_WAIT", "ESTABLISHED", "LISTEN", "LAST_ACK");
  }

  @AfterAll
  static void cleanUp() throws Exception {
    if (fixture != null) {
      fixture.close();
    }
  }

  @Test
  void asRootEveryNamespaceIsEnteredAndCountedExactly() throws Exception {
    String extra = fixture.add("kept");
    Map<String, Map<String, Long>> before = ssOfOurs();
    Sampler sampler =
        new Sampler(
            ProcFs.host(),
            List.of(new NetlinkSocketTable()),
            new SampleOptions(100_000, 10, false, List.of(), 1, null, null, CommandLines.FULL),
            Clock.systemUTC());
    HostSample s = sampler.sample();
    Map<String, Map<String, Long>> after = ssOfOurs();
    assertThat(after).as("our namespaces held still during the sample").isEqualTo(before);

    Map<String, NamespaceSockets> byName = byName(s);
    for (String ns : List.of(nsA, nsB, nsOrphan)) {
      NamespaceSockets n = byName.get(ns);
      assertThat(n).as(ns + " in " + s.getTcp().getNamespacesList()).isNotNull();
      assertThat(n.getReader()).isEqualTo(TcpReader.TCP_READER_NETLINK);
      assertThat(n.getHost()).isFalse();
      assertThat(byState(n.getCounts())).as(ns).isEqualTo(before.get(ns));
    }
    assertThat(byName.get(nsA).getProcesses()).isEqualTo(1);
    assertThat(byName.get(nsA).getOwner().getCgroup()).as("its member's cgroup").startsWith("/");
    assertThat(SampleText.render(s))
        .contains("Network namespaces: ")
        .containsPattern("netns " + nsA + " .*pid " + childA.pid());
    assertThat(byName.get(nsA).getPid()).isEqualTo(childA.pid());
    assertThat(byName.get(nsOrphan).getProcesses()).as("nobody lives there").isZero();
    assertThat(byName.get(nsOrphan).hasPid()).isFalse();
    assertThat(s.getTcp().getNamespacesProcFallback()).isZero();
    commonChecks(s, before);
    // Each process records the namespace it lives in.
    assertThat(process(s, childA).getNetns()).isEqualTo(byName.get(nsA).getInode());

    // The netlink socket opened in each namespace is kept for the next sample, which counts
    // through it just as exactly; a namespace deleted in between is let go, not held alive.
    long extraInode = byName.get(extra).getInode();
    assertThat(sampler.keptNamespaceSockets())
        .contains(
            byName.get(nsA).getInode(),
            byName.get(nsB).getInode(),
            byName.get(nsOrphan).getInode(),
            extraInode);
    fixture.remove(extra);
    Map<String, Map<String, Long>> before2 = ssOfOurs();
    HostSample again = sampler.sample();
    assertThat(ssOfOurs()).as("our namespaces held still").isEqualTo(before2);
    Map<String, NamespaceSockets> byNameAgain = byName(again);
    assertThat(byNameAgain).doesNotContainKey(extra);
    for (String ns : List.of(nsA, nsB, nsOrphan)) {
      assertThat(byNameAgain.get(ns).getReader()).isEqualTo(TcpReader.TCP_READER_NETLINK);
      assertThat(byState(byNameAgain.get(ns).getCounts())).as(ns).isEqualTo(before2.get(ns));
    }
    assertThat(sampler.keptNamespaceSockets())
        .contains(byName.get(nsA).getInode())
        .doesNotContain(extraInode);
    commonChecks(again, before2);
  }

  @Test
  void withoutCapSysAdminTheProcFallbackGivesTheSameCounts() throws Exception {
    Map<String, Map<String, Long>> before = ssOfOurs();
    HostSample s =
        sampleThroughLauncher(
            List.of(
                "setpriv",
                "--inh-caps=-sys_admin",
                "--ambient-caps=-sys_admin",
                "--bounding-set=-sys_admin",
                LAUNCHER.toString()));
    Map<String, Map<String, Long>> after = ssOfOurs();
    assertThat(after).as("our namespaces held still during the sample").isEqualTo(before);

    Map<String, NamespaceSockets> byName = byName(s);
    for (String ns : List.of(nsA, nsB)) {
      NamespaceSockets n = byName.get(ns);
      assertThat(n).as(ns).isNotNull();
      assertThat(n.getReader())
          .as("read through a member's /proc/PID/net")
          .isEqualTo(TcpReader.TCP_READER_PROC);
      assertThat(byState(n.getCounts())).as(ns).isEqualTo(before.get(ns));
    }
    // Nobody lives in the orphan: without setns there is no way in, and it says so.
    assertThat(byName.get(nsOrphan).hasCounts()).isFalse();
    assertThat(s.getTcp().getNamespacesFailed()).isGreaterThanOrEqualTo(1);
    assertThat(s.getTcp().getNamespacesProcFallback()).isGreaterThanOrEqualTo(2);
    assertThat(
            s.getHealth().getSourcesList().stream()
                .filter(r -> r.getSource().equals("tcp"))
                .flatMap(r -> r.getErrorsList().stream())
                .toList())
        .anySatisfy(
            e -> assertThat(e).contains("cannot enter network namespaces").contains("EPERM"))
        .anySatisfy(e -> assertThat(e).contains(nsOrphan).contains("not counted"));
    // No thread may stand inside another namespace, so no other namespace's TCP hash table is
    // known; the agent's own still is.
    var tables = s.getHealth().getNetnsTcpTables();
    assertThat(tables.getUnknown()).isEqualTo(s.getTcp().getNamespacesCount() - 1);
    assertThat(tables.getShared() + tables.getOwn()).isZero();
    assertThat(tables.getHostBuckets()).isPositive();
    assertThat(byName.get(nsA).hasTcpEhashEntries()).isFalse();
    commonChecks(s, before);
  }

  /** Sum, dedup, host marking and CLOSE_WAIT attribution, the same for both readers. */
  static void commonChecks(HostSample s, Map<String, Map<String, Long>> ss) {
    List<NamespaceSockets> all = s.getTcp().getNamespacesList();
    assertThat(all.get(0).getHost()).as("the host's own comes first").isTrue();
    assertThat(all.stream().filter(NamespaceSockets::getHost)).hasSize(1);
    assertThat(all.stream().map(NamespaceSockets::getInode).distinct().count())
        .as("each namespace once")
        .isEqualTo(all.size());
    Map<String, Long> sum = new TreeMap<>();
    all.forEach(n -> byState(n.getCounts()).forEach((k, v) -> sum.merge(k, v, Long::sum)));
    assertThat(byState(s.getTcp().getTotal()))
        .as("host total = sum over namespaces")
        .isEqualTo(sum);

    for (NetnsFixture.Child c : List.of(childA, childB)) {
      ProcessSample p = process(s, c);
      long cw = c == childA ? 4 : 2;
      assertThat(p.getSockets().getCloseWait()).isEqualTo(2 * cw);
      assertThat(p.getSockets().getEstablished())
          .as("its clients and accepted ends")
          .isEqualTo(c == childA ? 12 : 20);
      assertThat(p.getCloseWaitPeersList())
          .containsExactlyInAnyOrder(
              EndpointCount.newBuilder().setEndpoint("127.0.0.1:" + c.port4()).setCount(cw).build(),
              EndpointCount.newBuilder().setEndpoint("[::1]:" + c.port6()).setCount(cw).build());
    }
  }

  static ProcessSample process(HostSample s, NetnsFixture.Child c) {
    return s.getProcessesList().stream()
        .filter(p -> p.getPid() == c.pid())
        .findFirst()
        .orElseThrow(() -> new AssertionError("child " + c.pid() + " not in the sample"));
  }

  static Map<String, NamespaceSockets> byName(HostSample s) {
    Map<String, NamespaceSockets> m = new HashMap<>();
    s.getTcp().getNamespacesList().stream()
        .filter(NamespaceSockets::hasName)
        .forEach(n -> m.put(n.getName(), n));
    return m;
  }

  static Map<String, Map<String, Long>> ssOfOurs() throws Exception {
    Map<String, Map<String, Long>> m = new TreeMap<>();
    for (String ns : List.of(nsA, nsB, nsOrphan)) {
      m.put(ns, SsSnapshot.countByState(SsSnapshot.tanIn(ns)));
    }
    return m;
  }

  /** Non-zero counts by kernel state name, as ss names them (CLOSE_WAIT, TIME_WAIT...). */
  static Map<String, Long> byState(TcpStateCounts c) {
    Map<String, Long> m = new TreeMap<>();
    c.getAllFields()
        .forEach(
            (f, v) -> {
              if ((Long) v != 0) {
                m.put(f.getName().toUpperCase(java.util.Locale.ROOT), (Long) v);
              }
            });
    return m;
  }

  static void awaitNoneIn(String ns, String... states) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      Map<String, Long> c = SsSnapshot.countByState(SsSnapshot.tanIn(ns));
      if (List.of(states).stream().noneMatch(c::containsKey)) {
        return;
      }
      assertThat(System.nanoTime())
          .as("sockets of the ended child still in " + ns + ": " + c)
          .isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  static HostSample sampleThroughLauncher(List<String> prefix) throws Exception {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(List.of("sample", "--json", "--top", "100000"));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.PIPE).start();
    byte[] out = p.getInputStream().readAllBytes();
    String err =
        new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(err).isZero();
    HostSample.Builder b = HostSample.newBuilder();
    com.google.protobuf.util.JsonFormat.parser()
        .merge(new String(out, java.nio.charset.StandardCharsets.UTF_8), b);
    assertThat(Files.exists(LAUNCHER)).isTrue();
    return b.build();
  }
}
