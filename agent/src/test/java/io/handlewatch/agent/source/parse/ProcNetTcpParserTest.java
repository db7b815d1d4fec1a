package io.handlewatch.agent.source.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.handlewatch.agent.source.SocketEntry;
import io.handlewatch.agent.source.TcpState;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Lines as the kernel prints them (x86, little-endian), and lines it never would. */
class ProcNetTcpParserTest {
  static final String TAIL =
      " 00000000:00000000 00:00000000 00000000  1000        0 52311 1 0000000000000000 20 4 30 10 -1";

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // local, remote, state, expected local, expected remote, state name
        "0100007F:1F90 | 00000000:0000 | 0A | 127.0.0.1:8080 | 0.0.0.0:0 | LISTEN",
        "0200000A:9C41 | 0500000A:1538 | 08 | 10.0.0.2:40001 | 10.0.0.5:5432 | CLOSE_WAIT",
        "0100007F:A5E0 | 0100007F:1F90 | 01 | 127.0.0.1:42464 | 127.0.0.1:8080 | ESTABLISHED",
        "0100007F:A5E1 | 0100007F:1F90 | 06 | 127.0.0.1:42465 | 127.0.0.1:8080 | TIME_WAIT",
        "0100007F:A5E2 | 0100007F:1F90 | 02 | 127.0.0.1:42466 | 127.0.0.1:8080 | SYN_SENT",
        "0100007F:1F90 | 0100007F:A5E3 | 03 | 127.0.0.1:8080 | 127.0.0.1:42467 | SYN_RECV",
        "0100007F:A5E4 | 0100007F:1F90 | 04 | 127.0.0.1:42468 | 127.0.0.1:8080 | FIN_WAIT1",
        "0100007F:A5E5 | 0100007F:1F90 | 05 | 127.0.0.1:42469 | 127.0.0.1:8080 | FIN_WAIT2",
        "0100007F:A5E6 | 0100007F:1F90 | 07 | 127.0.0.1:42470 | 127.0.0.1:8080 | CLOSE",
        "0100007F:A5E7 | 0100007F:1F90 | 09 | 127.0.0.1:42471 | 127.0.0.1:8080 | LAST_ACK",
        "0100007F:A5E8 | 0100007F:1F90 | 0B | 127.0.0.1:42472 | 127.0.0.1:8080 | CLOSING",
        "0100007F:A5E9 | 0100007F:1F90 | 0C | 127.0.0.1:42473 | 127.0.0.1:8080 | NEW_SYN_RECV",
      })
  void ipv4Lines(String local, String remote, String st, String l, String r, String state)
      throws Exception {
    SocketEntry e = new SocketEntry();
    ProcNetTcpParser.parse(
        "/proc/net/tcp",
        2,
        "   0: " + local + " " + remote + " " + st + TAIL,
        SocketEntry.AF_INET,
        e);
    assertThat(e.localEndpoint()).isEqualTo(l);
    assertThat(e.remoteEndpoint()).isEqualTo(r);
    assertThat(TcpState.name(e.state())).isEqualTo(state);
    assertThat(e.inode()).isEqualTo(52311);
    assertThat(e.family()).isEqualTo(SocketEntry.AF_INET);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "00000000000000000000000001000000:1F90 | 00000000000000000000000000000000:0000 | [::1]:8080 | [::]:0",
        "B80D0120000000000000000002000000:9C41 | B80D0120000000000000000005000000:1538 | [2001:db8::2]:40001 | [2001:db8::5]:5432",
        // An IPv4 client of an IPv6 socket: reported as the IPv4 address an SRE knows.
        "0000000000000000FFFF00000100007F:1F90 | 0000000000000000FFFF00000100007F:A5E0 | 127.0.0.1:8080 | 127.0.0.1:42464",
      })
  void ipv6Lines(String local, String remote, String l, String r) throws Exception {
    SocketEntry e = new SocketEntry();
    ProcNetTcpParser.parse(
        "/proc/net/tcp6",
        2,
        "   0: " + local + " " + remote + " 01" + TAIL,
        SocketEntry.AF_INET6,
        e);
    assertThat(e.localEndpoint()).isEqualTo(l);
    assertThat(e.remoteEndpoint()).isEqualTo(r);
    assertThat(e.family()).isEqualTo(SocketEntry.AF_INET6);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "'' | expected 10+ fields, got 1",
        "'   0: 0100007F:1F90 00000000:0000 0A 00000000' | expected 10+ fields, got 5",
        "'   0: 0100007G:1F90 00000000:0000 0A"
            + " 00000000:00000000 00:00000000 00000000 0 0 1' | expected hex for local_address",
        "'   0: 0100007F1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1' | for local_address, got '0100007F1F90'",
        "'   0: 0100007F:1F90 00000000:0000 0D 00000000:00000000 00:00000000 00000000 0 0 1' | unknown TCP state 0x0D",
        "'   0: 0100007F:1F90 00000000:0000 00 00000000:00000000 00:00000000 00000000 0 0 1' | unknown TCP state 0x00",
        "'   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 x1' | expected a number for inode",
        "'   0: 0100007F:1F90 0000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1' | for rem_address",
      })
  void malformedLinesNameFileAndLine(String line, String problem) {
    assertThatThrownBy(
            () ->
                ProcNetTcpParser.parse(
                    "/proc/net/tcp", 7, line, SocketEntry.AF_INET, new SocketEntry()))
        .isInstanceOf(ProcParseException.class)
        .hasMessageStartingWith("/proc/net/tcp:7: ")
        .hasMessageContaining(problem);
  }

  @org.junit.jupiter.api.Test
  void aListenersRxQueueIsItsAcceptQueueAndItsBacklogIsUnknown() throws Exception {
    SocketEntry e = new SocketEntry();
    // Captured on 6.18: listen(fd, 8) with 9 connections waiting; tx_queue stays 0.
    ProcNetTcpParser.parse(
        "/proc/net/tcp",
        2,
        "   0: 0100007F:A35D 00000000:0000 0A 00000000:00000009 00:00000000 00000000     0        0"
            + " 4652279 10 00000000876cbbdd 100 0 0 10 0",
        SocketEntry.AF_INET,
        e);
    assertThat(e.receiveQueue()).isEqualTo(9);
    assertThat(e.sendQueue()).as("unknown through /proc").isEqualTo(-1);
    // Other states' queues are byte counts, not part of the sample.
    ProcNetTcpParser.parse(
        "/proc/net/tcp",
        3,
        "   1: 0100007F:A35D 0100007F:B1BC 01 00000010:00000020" + TAIL.substring(18),
        SocketEntry.AF_INET,
        e);
    assertThat(e.receiveQueue()).isZero();
    assertThatThrownBy(
            () ->
                ProcNetTcpParser.parse(
                    "/proc/net/tcp",
                    4,
                    "   2: 0100007F:A35D 00000000:0000 0A 00000000:0000zz09" + TAIL.substring(18),
                    SocketEntry.AF_INET,
                    e))
        .isInstanceOf(ProcParseException.class)
        .hasMessageContaining("/proc/net/tcp:4")
        .hasMessageContaining("rx_queue");
  }
}
