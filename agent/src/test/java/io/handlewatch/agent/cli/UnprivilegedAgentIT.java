package io.handlewatch.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.handlewatch.agent.testing.CloseWaitChild;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.ProcessSample;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent as production runs it: its own unprivileged user with exactly CAP_SYS_PTRACE and
 * CAP_DAC_READ_SEARCH (and CAP_SYS_ADMIN, for setns, where the container was given it), granted the
 * way the container image does it (deploy/docker/agent-entrypoint, setpriv with ambient
 * capabilities; the systemd unit's AmbientCapabilities= does the same). With them it reads a
 * root-owned process's fd table and attributes its CLOSE_WAIT sockets; without them it still
 * reports every system-wide figure, counts the process as unreadable, and exits 0.
 */
class UnprivilegedAgentIT {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final Path ENTRYPOINT = ROOT.resolve("deploy/docker/agent-entrypoint");
  static final int AGENT_UID = 65532;
  static final int CLOSE_WAIT = 6;

  static ServerSocketChannel leakyServer;
  static Process child;
  static long childPid;

  @BeforeAll
  static void rootOwnedLeaker() throws Exception {
    assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "needs root: the test starts a root-owned process and switches the agent to another user");
    leakyServer = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0), 64);
    int port = ((InetSocketAddress) leakyServer.getLocalAddress()).getPort();
    // Started by this (root) JVM, so the child and its fd table belong to root.
    child =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElseThrow(),
                "-Xmx32m",
                "-cp",
                System.getProperty("java.class.path"),
                CloseWaitChild.class.getName(),
                Integer.toString(port),
                Integer.toString(CLOSE_WAIT))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    String ready =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))
            .readLine();
    assertThat(ready).as("child's first line").startsWith("READY ");
    childPid = child.pid();
    for (int i = 0; i < CLOSE_WAIT; i++) {
      leakyServer.accept().close(); // the child's ends go to CLOSE_WAIT and stay there
    }
    assertThat(Files.getOwner(Path.of("/proc/" + childPid + "/fd")).getName()).isEqualTo("root");
  }

  @AfterAll
  static void stopLeaker() throws Exception {
    if (child != null) {
      child.getOutputStream().close();
      if (!child.waitFor(20, TimeUnit.SECONDS))
        child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (leakyServer != null) leakyServer.close();
  }

  @Test
  void theEntrypointLeavesTheAgentItsOwnUserAndItsThreeCapabilities() throws Exception {
    Map<String, String> status = entrypointStatus(List.of());
    long threeCaps = (1L << 2) | (1L << 19) | (1L << 21); // + CAP_SYS_ADMIN, for setns
    assertThat(Long.parseLong(status.get("CapEff"), 16)).isEqualTo(threeCaps);
    assertThat(Long.parseLong(status.get("CapPrm"), 16)).isEqualTo(threeCaps);
    assertThat(Long.parseLong(status.get("CapAmb"), 16)).isEqualTo(threeCaps);
  }

  @Test
  void aContainerWithoutSysAdminStillStartsWithTheTwo() throws Exception {
    // The container runtime granted no SYS_ADMIN: the entrypoint must not ask for it.
    Map<String, String> status =
        entrypointStatus(
            List.of(
                "setpriv",
                "--inh-caps=-sys_admin",
                "--ambient-caps=-sys_admin",
                "--bounding-set=-sys_admin"));
    long twoCaps = (1L << 2) | (1L << 19); // CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE
    assertThat(Long.parseLong(status.get("CapEff"), 16)).isEqualTo(twoCaps);
    assertThat(Long.parseLong(status.get("CapAmb"), 16)).isEqualTo(twoCaps);
  }

  /** /proc/self/status of what the entrypoint starts, started through {@code prefix}. */
  static Map<String, String> entrypointStatus(List<String> prefix) throws Exception {
    // The entrypoint execs whatever HANDLEWATCH_AGENT names: here grep, to read its own status.
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(ENTRYPOINT.toString());
    AgentLauncherIT.Result r =
        run(
            cmd,
            Map.of("HANDLEWATCH_AGENT", "/usr/bin/grep"),
            "-E",
            "^(Uid|Gid|Groups|CapEff|CapPrm|CapAmb|NoNewPrivs):",
            "/proc/self/status");
    assertThat(r.exit()).as(r.err()).isZero();
    Map<String, String> status = new HashMap<>();
    r.out().lines().forEach(l -> status.put(l.split(":")[0], l.split(":", 2)[1].strip()));
    assertThat(status.get("Uid")).startsWith(AGENT_UID + "\t" + AGENT_UID);
    assertThat(status.get("Gid")).startsWith(AGENT_UID + "\t" + AGENT_UID);
    assertThat(status.get("Groups")).isEmpty();
    assertThat(status.get("NoNewPrivs")).isEqualTo("1");
    return status;
  }

  @Test
  void withTheTwoCapabilitiesItReadsRootOwnedFdTables() throws Exception {
    HostSample s =
        sampleEveryProcess(
            List.of(ENTRYPOINT.toString()),
            Map.of("HANDLEWATCH_AGENT", AgentLauncherIT.LAUNCHER.toString()));
    ProcessSample leaker =
        find(s)
            .orElseThrow(
                () -> new AssertionError("root-owned child " + childPid + " not in the sample"));
    assertThat(leaker.hasFds()).isTrue();
    assertThat(leaker.getFds()).isGreaterThanOrEqualTo(CLOSE_WAIT);
    assertThat(leaker.hasSockets()).as("its fd links were read").isTrue();
    assertThat(leaker.getSockets().getCloseWait()).isEqualTo(CLOSE_WAIT);
    assertThat(leaker.getCloseWaitPeersList())
        .containsExactly(
            EndpointCount.newBuilder()
                .setEndpoint("127.0.0.1:" + port())
                .setCount(CLOSE_WAIT)
                .build());
  }

  @Test
  void withoutThemItDegradesAndCountsWhatItCouldNotRead() throws Exception {
    String caps = "-all";
    HostSample s =
        sampleEveryProcess(
            List.of(
                "setpriv",
                "--reuid=" + AGENT_UID,
                "--regid=" + AGENT_UID,
                "--clear-groups",
                "--inh-caps=" + caps,
                "--ambient-caps=" + caps,
                "--bounding-set=" + caps,
                "--no-new-privs",
                AgentLauncherIT.LAUNCHER.toString()),
            Map.of());
    // System-wide figures do not need the capabilities.
    assertThat(s.getTcp().getTotal().getCloseWait()).isGreaterThanOrEqualTo(CLOSE_WAIT);
    assertThat(s.getFileHandles().getMax()).isPositive();
    assertThat(s.getSysctlsCount()).isPositive();
    // Root's processes are counted as unreadable, and the child's sockets are not claimed by it
    // as zeros: they are absent, and counted among the sockets without a known owner.
    assertThat(s.getProcessWalk().getProcessesUnreadable()).isPositive();
    assertThat(s.getProcessWalk().getSocketsUnattributed()).isGreaterThanOrEqualTo(CLOSE_WAIT);
    find(s).ifPresent(p -> assertThat(p.hasSockets()).as(p.toString()).isFalse());
  }

  /** One sample as JSON, every process listed, from the agent started through {@code prefix}. */
  static HostSample sampleEveryProcess(List<String> prefix, Map<String, String> env)
      throws Exception {
    AgentLauncherIT.Result r = run(prefix, env, "sample", "--json", "--top", "100000");
    assertThat(r.exit()).as(r.err()).isZero();
    return AgentLauncherIT.parse(r.out());
  }

  static Optional<ProcessSample> find(HostSample s) {
    return s.getProcessesList().stream().filter(p -> p.getPid() == childPid).findFirst();
  }

  static int port() throws Exception {
    return ((InetSocketAddress) leakyServer.getLocalAddress()).getPort();
  }

  static AgentLauncherIT.Result run(List<String> prefix, Map<String, String> env, String... args)
      throws Exception {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(List.of(args));
    return AgentLauncherIT.exec(cmd, env, List.of());
  }
}
