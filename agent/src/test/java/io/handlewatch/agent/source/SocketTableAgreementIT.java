package io.handlewatch.agent.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.source.natives.NetlinkSocketTable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The three ways to read the socket table (netlink compat request, netlink per-family v2 requests,
 * /proc/net/tcp{,6}) see exactly the same sockets: the test's own, on 127.0.0.1 and ::1, in LISTEN,
 * ESTABLISHED, CLOSE_WAIT, FIN_WAIT2 and TIME_WAIT.
 */
class SocketTableAgreementIT {
  static final List<AutoCloseable> open = new ArrayList<>();

  /** Our listeners' endpoints: the machine may hold other sockets on the same port numbers. */
  static final Set<String> listeners = new TreeSet<>();

  @BeforeAll
  static void openSockets() throws Exception {
    for (String host : List.of("127.0.0.1", "::1")) {
      InetAddress addr = InetAddress.getByName(host);
      // Java opens dual-stack AF_INET6 sockets unless told the family: ask for real AF_INET ones.
      StandardProtocolFamily family =
          host.contains(":") ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
      ServerSocketChannel server =
          track(ServerSocketChannel.open(family).bind(new InetSocketAddress(addr, 0)));
      int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
      listeners.add(Endpoints.format(addr.getAddress(), addr.getAddress().length, port));
      for (int i = 0; i < 3; i++) { // ESTABLISHED pairs
        track(connect(family, addr, port));
        track(server.accept());
      }
      for (int i = 0; i < 2; i++) { // CLOSE_WAIT on the client, FIN_WAIT2 on the server side
        track(connect(family, addr, port));
        server.accept().close();
      }
      for (int i = 0; i < 2; i++) { // TIME_WAIT on the client, which closes first
        SocketChannel c = connect(family, addr, port);
        SocketChannel s = server.accept();
        c.close();
        s.read(ByteBuffer.allocate(1));
        s.close();
      }
    }
  }

  @AfterAll
  static void closeSockets() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  @Test
  void compatV2AndProcSeeTheSameSockets() throws Exception {
    String expectedShape = "2x3 ESTABLISHED pairs, 2x2 CLOSE_WAIT, 2x2 TIME_WAIT, 2 LISTEN";
    Set<String> compat = null;
    Set<String> v2 = null;
    Set<String> proc = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    // The FIN_WAIT2 halves and TIME_WAIT can move between reads; retry until three reads taken
    // back to back agree, within a bound.
    while (System.nanoTime() < deadline) {
      compat = ours(new NetlinkSocketTable(NetlinkSocketTable.Mode.COMPAT));
      v2 = ours(new NetlinkSocketTable(NetlinkSocketTable.Mode.V2));
      proc = ours(new ProcNetTcpSocketTable(Path.of("/proc")));
      if (compat.equals(v2)
          && v2.equals(proc)
          && count(compat, "CLOSE_WAIT") == 4
          && count(compat, "TIME_WAIT") == 4) {
        break;
      }
      Thread.sleep(50);
    }
    assertThat(compat).as(expectedShape).isEqualTo(v2).isEqualTo(proc);
    assertThat(count(compat, "ESTABLISHED")).isEqualTo(12);
    assertThat(count(compat, "CLOSE_WAIT")).isEqualTo(4);
    assertThat(count(compat, "TIME_WAIT")).isEqualTo(4);
    assertThat(count(compat, "LISTEN")).isEqualTo(2);
    assertThat(compat).anySatisfy(s -> assertThat(s).startsWith("10 ")); // IPv6 seen
    assertThat(compat).anySatisfy(s -> assertThat(s).startsWith("2 ")); // IPv4 seen
    // Sockets a process holds carry an inode; TIME_WAIT ones belong to no process and have none.
    assertThat(compat)
        .filteredOn(s -> s.contains("TIME_WAIT"))
        .allSatisfy(s -> assertThat(s).endsWith(" inode 0"));
    assertThat(compat)
        .filteredOn(s -> s.matches("\\d+ (ESTABLISHED|CLOSE_WAIT|LISTEN) .*"))
        .hasSize(18)
        .allSatisfy(s -> assertThat(s).doesNotEndWith(" inode 0"));
  }

  @Test
  void compatModeIsAcceptedByThisKernel() throws Exception {
    NetlinkSocketTable t = new NetlinkSocketTable(NetlinkSocketTable.Mode.COMPAT);
    Problems p = new Problems();
    t.forEach(e -> {}, p);
    assertThat(t.effectiveMode()).isEqualTo(NetlinkSocketTable.Mode.COMPAT);
    assertThat(p.isEmpty()).as(p.reasons().toString()).isTrue();
  }

  static Set<String> ours(SocketTable table) throws IOException {
    Set<String> seen = new TreeSet<>();
    Problems problems = new Problems();
    table.forEach(
        e -> {
          if (listeners.contains(e.localEndpoint()) || listeners.contains(e.remoteEndpoint())) {
            seen.add(e.family() + " " + e);
          }
        },
        problems);
    assertThat(problems.skipped()).as(problems.reasons().toString()).isZero();
    return seen;
  }

  static SocketChannel connect(StandardProtocolFamily family, InetAddress addr, int port)
      throws IOException {
    SocketChannel c = SocketChannel.open(family);
    c.connect(new InetSocketAddress(addr, port));
    return c;
  }

  static long count(Set<String> sockets, String state) {
    return sockets.stream().filter(s -> s.split(" ")[1].equals(state)).count();
  }

  static <T extends AutoCloseable> T track(T c) {
    open.add(c);
    return c;
  }
}
