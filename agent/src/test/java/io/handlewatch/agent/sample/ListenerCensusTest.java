package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.source.SocketEntry;
import io.handlewatch.agent.source.TcpState;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Connection requests find their listener whatever order the reader lists sockets in. */
class ListenerCensusTest {
  @Test
  void requestsMatchExactThenWildcardThenDualStackPerNamespace() throws Exception {
    TcpCensus c = new TcpCensus(null, null);
    // V2 dumps list IPv4 sockets (requests included) before IPv6 listeners: a request may come
    // before its listener.
    c.socket(request("10.0.0.1", 443));
    c.socket(listener("0.0.0.0", 80, 3, 128, 11));
    c.socket(listener("10.0.0.1", 80, 128, 128, 12));
    c.socket(request("10.0.0.1", 80));
    c.socket(request("10.0.0.2", 80));
    c.socket(request("10.0.0.2", 80));
    c.socket(request("10.0.0.1", 9999));
    c.socket(listener("::", 443, 0, 4096, 13));
    c.enterNamespace(false, 4026532000L, new long[TcpState.MAX + 1]);
    c.socket(listener("0.0.0.0", 80, 0, 16, 14));
    c.socket(request("10.1.0.7", 80));

    Map<String, Long> syn =
        c.listeners.all().stream()
            .collect(
                Collectors.toMap(
                    f -> f.local() + "@" + c.listeners.namespaceInode(f), f -> f.synRecv));
    assertThat(syn)
        .isEqualTo(
            Map.of(
                "10.0.0.1:80@0", 1L,
                "0.0.0.0:80@0", 2L,
                "[::]:443@0", 1L,
                "0.0.0.0:80@4026532000", 1L));
    assertThat(c.listeners.unmatchedRequests).isEqualTo(1);
    assertThat(c.ipv4[TcpState.SYN_RECV]).as("still counted as SYN_RECV").isEqualTo(6);
  }

  @Test
  void fullestFirstCappedWithTheTotal() throws Exception {
    TcpCensus c = new TcpCensus(null, null);
    c.socket(listener("0.0.0.0", 22, 0, 128, 1));
    c.socket(listener("127.0.0.1", 8080, 9, 8, 2));
    c.socket(listener("0.0.0.0", 443, 64, 128, 3));
    var q =
        new ListenerSelector(2, null).select(c, null, new io.handlewatch.agent.source.Problems());
    assertThat(q.getListenersTotal()).isEqualTo(3);
    assertThat(q.getListenersList().stream().map(l -> l.getLocal()).toList())
        .isEqualTo(List.of("127.0.0.1:8080", "0.0.0.0:443"));
    assertThat(q.getListeners(0).getQueue()).isEqualTo(9);
    assertThat(q.getListeners(0).getBacklog()).isEqualTo(8);
    assertThat(q.getListeners(0).hasPid()).as("no walk, no owner").isFalse();
    assertThat(q.getListeners(0).hasNetns()).as("the host's own").isFalse();
  }

  @Test
  void aListenerWhoseSynQueueFillsIsSentEvenWithAnEmptyAcceptQueue() throws Exception {
    TcpCensus c = new TcpCensus(null, null);
    c.socket(listener("0.0.0.0", 443, 40, 128, 1)); // accept queue a third full
    c.socket(listener("0.0.0.0", 25, 0, 16, 2)); // SYN queue full, accept queue empty
    for (int i = 0; i < 16; i++) c.socket(request("10.0.0.1", 25));
    var q =
        new ListenerSelector(1, null).select(c, null, new io.handlewatch.agent.source.Problems());
    assertThat(q.getListenersList())
        .singleElement()
        .satisfies(
            l -> {
              assertThat(l.getLocal()).isEqualTo("0.0.0.0:25");
              assertThat(l.getSynRecv()).isEqualTo(16);
              assertThat(l.getQueue()).isZero();
            });
  }

  static SocketEntry listener(String ip, int port, long queue, long backlog, long inode)
      throws Exception {
    byte[] a = InetAddress.getByName(ip).getAddress();
    return new SocketEntry()
        .set(family(a), TcpState.LISTEN, a, port, new byte[a.length], 0, inode)
        .queues(queue, backlog);
  }

  static SocketEntry request(String ip, int port) throws Exception {
    byte[] a = InetAddress.getByName(ip).getAddress();
    byte[] peer = InetAddress.getByName(a.length == 4 ? "10.9.9.9" : "2001:db8::9").getAddress();
    return new SocketEntry().set(family(a), TcpState.SYN_RECV, a, port, peer, 40000, 0);
  }

  static int family(byte[] a) {
    return a.length == 4 ? SocketEntry.AF_INET : SocketEntry.AF_INET6;
  }
}
