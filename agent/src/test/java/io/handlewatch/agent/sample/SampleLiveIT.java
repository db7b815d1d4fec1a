package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcNetTcpSocketTable;
import io.handlewatch.agent.source.SocketTable;
import io.handlewatch.agent.source.TcpState;
import io.handlewatch.agent.source.natives.NetlinkSocketTable;
import io.handlewatch.agent.testing.CloseWaitChild;
import io.handlewatch.agent.testing.SsSnapshot;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.TcpReader;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent's sample against real sockets on loopback, in known states, checked against {@code ss
 * -tan} taken around the same moment: ESTABLISHED pairs, listeners, TIME_WAIT from active closes,
 * and a child process whose client sockets sit in CLOSE_WAIT after the server closed them.
 */
class SampleLiveIT {
  static final int ESTABLISHED_PAIRS = 12;
  static final int CLOSE_WAIT = 7;
  static final int TIME_WAIT = 5;

  static final List<AutoCloseable> open = new ArrayList<>();
  static ServerSocketChannel listener;
  static ServerSocketChannel leakyServer;
  static Process child;
  static long childPid;

  @BeforeAll
  static void openSockets() throws Exception {
    listener = track(ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0), 256));
    int port = port(listener);
    for (int i = 0; i < ESTABLISHED_PAIRS; i++) {
      track(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)));
      track(listener.accept());
    }
    // TIME_WAIT lands on the side that closes first: the client here.
    for (int i = 0; i < TIME_WAIT; i++) {
      SocketChannel c = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
      SocketChannel s = listener.accept();
      c.close();
      s.read(ByteBuffer.allocate(1)); // EOF: the client's FIN arrived
      s.close();
    }

    leakyServer =
        track(ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0), 256));
    child =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElseThrow(),
                "-Xmx32m",
                // A marker early in argv: the reported cmdline is cut at 200 characters.
                "-Dhandlewatch.role=close-wait-child",
                "-cp",
                System.getProperty("java.class.path"),
                CloseWaitChild.class.getName(),
                Integer.toString(port(leakyServer)),
                Integer.toString(CLOSE_WAIT))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    String ready = out.readLine();
    assertThat(ready).as("child's first line").startsWith("READY ");
    childPid = Long.parseLong(ready.substring(6).strip());
    assertThat(childPid).isEqualTo(child.pid());
    for (int i = 0; i < CLOSE_WAIT; i++) {
      // The server side closes at once: the child's sockets go to CLOSE_WAIT and stay there.
      leakyServer.accept().close();
    }

    int leakyPort = port(leakyServer);
    awaitTrue(
        "sockets in their states",
        () -> {
          List<SsSnapshot.Line> ss = ssQuietly();
          long cw =
              ss.stream()
                  .filter(l -> l.state().equals("CLOSE_WAIT") && isLoopback(l.peer(), leakyPort))
                  .count();
          long tw =
              ss.stream()
                  .filter(l -> l.state().equals("TIME_WAIT") && isLoopback(l.peer(), port))
                  .count();
          return cw == CLOSE_WAIT && tw == TIME_WAIT;
        });
  }

  @AfterAll
  static void closeSockets() throws Exception {
    if (child != null) {
      child.getOutputStream().close();
      if (!child.waitFor(20, TimeUnit.SECONDS)) {
        child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  @Test
  void countsEqualSsTakenAroundTheSample() throws Exception {
    Sampler sampler = sampler(new NetlinkSocketTable());
    assertCountsMatchSs(sampler, TcpReader.TCP_READER_NETLINK);
  }

  @Test
  void procReaderCountsEqualSsToo() throws Exception {
    Sampler sampler = sampler(new ProcNetTcpSocketTable(Path.of("/proc")));
    assertCountsMatchSs(sampler, TcpReader.TCP_READER_PROC);
  }

  @Test
  void closeWaitSocketsAreAttributedToTheChildAndTheServersEndpoint() {
    HostSample sample = sampler(new NetlinkSocketTable()).sample();
    ProcessSample leaker =
        sample.getProcessesList().stream()
            .filter(p -> p.getPid() == childPid)
            .findFirst()
            .orElseThrow(
                () ->
                    new AssertionError(
                        "child " + childPid + " not in " + sample.getProcessesList()));
    assertThat(leaker.getSockets().getCloseWait()).isEqualTo(CLOSE_WAIT);
    assertThat(leaker.getCloseWaitPeersList())
        .containsExactly(
            EndpointCount.newBuilder()
                .setEndpoint("127.0.0.1:" + port(leakyServer))
                .setCount(CLOSE_WAIT)
                .build());
    assertThat(leaker.getComm()).isEqualTo("java");
    assertThat(leaker.getCmdline()).contains("-Dhandlewatch.role=close-wait-child");
    assertThat(leaker.hasFds()).isTrue();
    assertThat(leaker.getFds()).isGreaterThanOrEqualTo(CLOSE_WAIT);
    assertThat(leaker.getSoftLimit()).isPositive();
    assertThat(leaker.getSelectedBy().name()).containsAnyOf("CLOSE_WAIT", "BOTH");
  }

  @Test
  void ourOwnProcessHoldsTheEstablishedPairsAndListeners() {
    HostSample sample = sampler(new NetlinkSocketTable()).sample();
    long self = ProcessHandle.current().pid();
    // Our fd ratio is tiny, so we may not be in the top lists; the attribution index must still
    // have our sockets: ask for every process.
    Sampler all =
        new Sampler(
            ProcFs.host(),
            List.of(new NetlinkSocketTable()),
            new SampleOptions(100_000, 10, false, List.of(), 30, null, null, CommandLines.FULL),
            Clock.systemUTC());
    ProcessSample me =
        all.sample().getProcessesList().stream()
            .filter(p -> p.getPid() == self)
            .findFirst()
            .orElseThrow();
    assertThat(me.getSockets().getEstablished()).isGreaterThanOrEqualTo(2L * ESTABLISHED_PAIRS);
    assertThat(me.getSockets().getListen()).isGreaterThanOrEqualTo(2);
    assertThat(sample.getProcessWalk().getProcessesSeen()).isPositive();
  }

  @Test
  void laterSamplesReuseTheFdIndexInsteadOfRereadingEveryTable() {
    Sampler sampler = sampler(new NetlinkSocketTable());
    HostSample first = sampler.sample();
    HostSample second = sampler.sample();
    assertThat(first.getProcessWalk().getFdLinksRead()).isPositive();
    assertThat(second.getProcessWalk().getProcessesRescanned())
        .as("processes whose fd links were re-read in the second sample")
        .isLessThan(first.getProcessWalk().getProcessesRescanned());
    // And the cached index still attributes the child's CLOSE_WAIT sockets.
    assertThat(second.getProcessesList())
        .anySatisfy(
            p -> {
              assertThat(p.getPid()).isEqualTo((int) childPid);
              assertThat(p.getSockets().getCloseWait()).isEqualTo(CLOSE_WAIT);
            });
  }

  @Test
  void timeWaitToOurListenerShowsAsPortPressure() {
    HostSample sample = sampler(new NetlinkSocketTable()).sample();
    int low = sample.getPortPressure().getRangeLow();
    int high = sample.getPortPressure().getRangeHigh();
    assertThat(sample.getPortPressure().getRangeSize()).isEqualTo(high - low + 1);
    String remote = "127.0.0.1:" + port(listener);
    // Our listener's port is itself ephemeral, so accepted sockets must not count: only the
    // client sides (ESTABLISHED and TIME_WAIT) use a local ephemeral port towards it.
    assertThat(sample.getPortPressure().getTopList())
        .anySatisfy(
            e -> {
              assertThat(e.getRemote()).isEqualTo(remote);
              assertThat(e.getInUse()).isEqualTo(ESTABLISHED_PAIRS + TIME_WAIT);
              assertThat(e.getTimeWait()).isEqualTo(TIME_WAIT);
            });
  }

  private static void assertCountsMatchSs(Sampler sampler, TcpReader reader) throws Exception {
    Map<String, Long> lastSs = null;
    Map<String, Long> lastSample = null;
    for (int attempt = 0; attempt < 20; attempt++) {
      Map<String, Long> before = SsSnapshot.countByState(SsSnapshot.tan());
      HostSample sample = sampler.sample();
      Map<String, Long> after = SsSnapshot.countByState(SsSnapshot.tan());
      assertThat(sample.getTcp().getReader()).isEqualTo(reader);
      lastSample = byState(sample.getTcp().getTotal());
      lastSs = before;
      if (before.equals(after)) {
        // Nothing changed around the sample: it must match to the socket.
        assertThat(lastSample).isEqualTo(before);
        assertThat(lastSample.get("CLOSE_WAIT")).isGreaterThanOrEqualTo((long) CLOSE_WAIT);
        assertThat(lastSample.get("TIME_WAIT")).isGreaterThanOrEqualTo((long) TIME_WAIT);
        return;
      }
    }
    throw new AssertionError(
        "the host's sockets kept changing around every sample; last ss "
            + lastSs
            + ", last sample "
            + lastSample);
  }

  static Map<String, Long> byState(TcpStateCounts c) {
    long[] v = SampleText.counts(c);
    Map<String, Long> m = new TreeMap<>();
    for (int i = 0; i < v.length; i++) {
      if (v[i] > 0) {
        m.put(TcpState.name(i + 1), v[i]);
      }
    }
    return m;
  }

  static Sampler sampler(SocketTable table) {
    return new Sampler(ProcFs.host(), List.of(table), SampleOptions.defaults(), Clock.systemUTC());
  }

  static List<SsSnapshot.Line> ssQuietly() {
    try {
      return SsSnapshot.tan();
    } catch (Exception e) {
      throw new AssertionError("ss -tan failed", e);
    }
  }

  static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  /** ss prints a dual-stack socket's IPv4 peer as [::ffff:127.0.0.1]:port. */
  static boolean isLoopback(String ssEndpoint, int port) {
    return ssEndpoint.equals("127.0.0.1:" + port)
        || ssEndpoint.equals("[::ffff:127.0.0.1]:" + port);
  }

  static int port(ServerSocketChannel s) {
    try {
      return ((InetSocketAddress) s.getLocalAddress()).getPort();
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  static <T extends AutoCloseable> T track(T c) {
    open.add(c);
    return c;
  }
}
