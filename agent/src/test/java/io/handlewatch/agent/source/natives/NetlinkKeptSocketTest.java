package io.handlewatch.agent.source.natives;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.handlewatch.agent.source.NetNamespaces;
import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.SocketEntry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The netlink socket {@link NamespaceEntry} keeps per network namespace, with real loopback sockets
 * in the test's own namespace (entered with setns, so as root). A dump that fails half way keeps
 * running in the kernel, which refuses the next request on that socket (EBUSY): the entry must drop
 * the socket, and its next dump, through a fresh one, must count exactly what a plain dump counts.
 */
class NetlinkKeptSocketTest {
  /** Enough sockets that the dump spans several reads of the 64 KiB buffer. */
  static final int PAIRS = 600;

  @Test
  void aSocketLeftBusyByAFailedDumpIsReplacedAndTheNextDumpCountsExactly() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "setns needs CAP_SYS_ADMIN");
    assumeTrue(NamespaceEntry.available(), "no setns through the C library here");
    Path self = Path.of("/proc/self/ns/net");
    long inode = NetNamespaces.inodeOfLink(self);
    List<Socket> held = new ArrayList<>();
    try (ServerSocket server = new ServerSocket(0, PAIRS, InetAddress.getLoopbackAddress());
        NamespaceEntry entry = new NamespaceEntry()) {
      int port = server.getLocalPort();
      for (int i = 0; i < PAIRS; i++) {
        Socket c = new Socket();
        c.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        held.add(c);
        held.add(server.accept());
      }
      long[] plain = {0};
      new NetlinkSocketTable().forEach(e -> plain[0] += ours(e, port), new Problems());
      assertThat(plain[0])
          .as("the listener, and both ends of every pair")
          .isEqualTo(1 + 2L * PAIRS);

      long[] n = {0};
      entry.dump(self, inode, e -> n[0] += ours(e, port), new Problems());
      assertThat(n[0]).as("first dump, through a socket opened for it").isEqualTo(plain[0]);
      assertThat(entry.keptSockets()).containsExactly(inode);

      assertThatThrownBy(
              () ->
                  entry.dump(
                      self,
                      inode,
                      e -> {
                        throw new IllegalStateException("failed half way");
                      },
                      new Problems()))
          .hasMessageContaining("failed half way");
      assertThat(entry.keptSockets()).as("the busy socket is dropped").isEmpty();

      for (int round = 0; round < 2; round++) {
        n[0] = 0;
        entry.dump(self, inode, e -> n[0] += ours(e, port), new Problems());
        assertThat(n[0]).as("dump %d after the failed one", round + 1).isEqualTo(plain[0]);
      }
      assertThat(entry.keptSockets()).containsExactly(inode);
      entry.retainOnly(java.util.Set.of());
      assertThat(entry.keptSockets()).isEmpty();
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }

  private static int ours(SocketEntry e, int port) {
    return e.localPort() == port || e.remotePort() == port ? 1 : 0;
  }
}
