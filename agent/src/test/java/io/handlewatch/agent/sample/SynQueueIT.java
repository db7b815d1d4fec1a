package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.handlewatch.agent.source.natives.NetlinkSocketTable;
import io.handlewatch.agent.testing.NetnsFixture;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.NamespaceSockets;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A SYN queue full for real: a listener with backlog 8 in a test namespace ({@code hw13-}) whose
 * iptables drops every pure ACK towards it, so the handshakes of a bounded burst of connects never
 * complete and their request sockets sit in SYN_RECV (the client believes itself connected). The
 * agent's count of them, attributed to the listener from the one socket dump, equals what {@code ss
 * -tan state syn-recv} shows in the namespace around the sample; the connects beyond the queue are
 * answered with syncookies, which the namespace's own counters show.
 */
class SynQueueIT {
  static final int PORT = 7000;
  static final int BACKLOG = 8;
  static final int CONNECTS = 20;

  /** Listens with backlog 8; on "GO", connects CONNECTS times without waiting; ends at EOF. */
  static final String CHILD =
      """
      import socket, sys
      srv = socket.socket()
      srv.bind(("127.0.0.1", %d)); srv.listen(%d)
      print("READY", flush=True)
      sys.stdin.readline()
      held = []
      for i in range(%d):
          c = socket.socket(); c.setblocking(False)
          try: c.connect(("127.0.0.1", %d))
          except BlockingIOError: pass
          held.append(c)
      print("CONNECTED", flush=True)
      sys.stdin.read()
      """
          .formatted(PORT, BACKLOG, CONNECTS, PORT);

  @Test
  void requestSocketsInSynRecvAreCountedPerListenerAsSsCountsThem() throws Exception {
    assumeTrue(
        "root".equals(System.getProperty("user.name")), "needs root: ip netns add, iptables");
    try (NetnsFixture fixture = new NetnsFixture("hw13-")) {
      String ns = fixture.add("syn");
      // Final ACKs (ACK alone among SYN, ACK, FIN, RST) towards the listener never arrive.
      NetnsFixture.run(
          "ip",
          "netns",
          "exec",
          ns,
          "iptables",
          "-A",
          "INPUT",
          "-p",
          "tcp",
          "--dport",
          Integer.toString(PORT),
          "--tcp-flags",
          "SYN,ACK,FIN,RST",
          "ACK",
          "-j",
          "DROP");
      Process child =
          new ProcessBuilder("ip", "netns", "exec", ns, "python3", "-c", CHILD)
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      try {
        BufferedReader out =
            new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("READY");
        Sampler sampler = KernelTablesIT.sampler(new NetlinkSocketTable());
        HostSample before = sampler.sample();
        assertThat(listener(before, ns).getSynRecv()).as("nothing connected yet").isZero();
        long cookiesBefore = namespace(before, ns).getTcpCounters().getSyncookiesSent();

        OutputStream in = child.getOutputStream();
        in.write("GO\n".getBytes(StandardCharsets.UTF_8));
        in.flush();
        assertThat(out.readLine()).isEqualTo("CONNECTED");
        KernelTablesIT.await(() -> ssSynRecv(ns) >= BACKLOG, "ss shows the SYN queue full");

        for (int attempt = 1; ; attempt++) {
          long k0 = ssSynRecv(ns);
          HostSample s = sampler.sample();
          long k1 = ssSynRecv(ns);
          if (k0 != k1 && attempt < 10) continue;
          assertThat(k1).as("SYN_RECV held still around the sample").isEqualTo(k0);
          NamespaceSockets n = namespace(s, ns);
          Listener l = listener(s, ns);
          assertThat(l.getSynRecv()).as("agent's count; ss said " + k0).isEqualTo(k0);
          assertThat(k0)
              .as("the queue is full: at least its backlog (this kernel admits one more)")
              .isBetween((long) BACKLOG, (long) BACKLOG + 1);
          assertThat(l.getQueue()).as("no handshake completed").isZero();
          assertThat(l.getBacklog()).isEqualTo(BACKLOG);
          assertThat(l.getPid()).as("the python listener").isEqualTo((int) child.pid());
          assertThat(l.getComm()).startsWith("python");
          assertThat(l.getNetns()).isEqualTo(n.getInode());
          assertThat(n.getCounts().getSynRecv())
              .as("the namespace's SYN_RECV count holds the same request sockets")
              .isEqualTo(k0);
          assertThat(n.getTcpCounters().getSyncookiesSent() - cookiesBefore)
              .as("connects beyond the full queue were answered with syncookies")
              .isEqualTo(CONNECTS - k0);
          assertThat(SampleText.render(s))
              .containsPattern(
                  "127\\.0\\.0\\.1:" + PORT + " +0 +8 +" + k0 + " +" + child.pid() + " python");
          break;
        }
      } finally {
        child.getOutputStream().close();
        if (!child.waitFor(20, TimeUnit.SECONDS)) {
          child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
    }
  }

  static NamespaceSockets namespace(HostSample s, String ns) {
    return s.getTcp().getNamespacesList().stream()
        .filter(x -> ns.equals(x.getName()))
        .findFirst()
        .orElseThrow(() -> new AssertionError(ns + " not among the sample's namespaces"));
  }

  static Listener listener(HostSample s, String ns) {
    long inode = namespace(s, ns).getInode();
    return s.getListenQueues().getListenersList().stream()
        .filter(l -> l.getNetns() == inode && l.getLocal().equals("127.0.0.1:" + PORT))
        .findFirst()
        .orElseThrow(() -> new AssertionError("listener not in " + s.getListenQueues()));
  }

  /** Lines of {@code ss -Htan state syn-recv} inside the namespace. */
  static long ssSynRecv(String ns) {
    try {
      Process p =
          new ProcessBuilder("ip", "netns", "exec", ns, "ss", "-Htan", "state", "syn-recv")
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("ss in " + ns + ": " + out);
      }
      return out.lines().filter(x -> !x.isBlank()).count();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
