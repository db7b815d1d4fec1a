package io.handlewatch.agent.source.parse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.handlewatch.proto.v1.Sockstat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SockstatParserTest {
  private static final String KERNEL_6_18 =
      """
      sockets: used 10
      TCP: inuse 1 orphan 2 tw 3 alloc 4 mem 5
      UDP: inuse 6 mem 7
      UDPLITE: inuse 0
      RAW: inuse 0
      FRAG: inuse 0 memory 0
      """;

  @Test
  void readsEveryKnownCounter() throws Exception {
    Sockstat.Builder b = Sockstat.newBuilder();
    SockstatParser.parse("/proc/net/sockstat", KERNEL_6_18, b);
    SockstatParser.parse("/proc/net/sockstat6", "TCP6: inuse 8\nUDP6: inuse 9\nRAW6: inuse 0\n", b);
    assertThat(b.build())
        .isEqualTo(
            Sockstat.newBuilder()
                .setSocketsUsed(10)
                .setTcpInuse(1)
                .setTcpOrphan(2)
                .setTcpTw(3)
                .setTcpAlloc(4)
                .setTcpMemPages(5)
                .setUdpInuse(6)
                .setUdpMemPages(7)
                .setTcp6Inuse(8)
                .setUdp6Inuse(9)
                .build());
  }

  @Test
  void missingLinesStayAbsentNotZero() throws Exception {
    Sockstat.Builder b = Sockstat.newBuilder();
    SockstatParser.parse("/proc/net/sockstat", "TCP: inuse 1 orphan 0\n", b);
    Sockstat s = b.build();
    assertThat(s.hasTcpInuse()).isTrue();
    assertThat(s.hasTcpOrphan()).isTrue();
    assertThat(s.hasTcpTw()).isFalse();
    assertThat(s.hasSocketsUsed()).isFalse();
  }

  @Test
  void emptyFileGivesNothing() throws Exception {
    Sockstat.Builder b = Sockstat.newBuilder();
    SockstatParser.parse("/proc/net/sockstat", "", b);
    assertThat(b.build()).isEqualTo(Sockstat.getDefaultInstance());
  }

  static Stream<Arguments> malformed() {
    return Stream.of(
        Arguments.of(
            "sockets: used 10\nTCP: inuse x orphan 0\n",
            2,
            "expected a number for 'inuse', got 'x'"),
        Arguments.of("TCP inuse 1\n", 1, "expected 'LABEL: name value ...'"),
        Arguments.of("sockets: used 1\nTCP: inuse 1 orphan\n", 2, "expected name/value pairs"),
        Arguments.of("TCP: inuse -1\n", 1, "expected a number for 'inuse', got '-1'"),
        Arguments.of("TCP: inuse 99999999999999999999\n", 1, "expected a number for 'inuse'"),
        Arguments.of("TCP:\n", 1, "expected name/value pairs"));
  }

  @ParameterizedTest
  @MethodSource("malformed")
  void malformedInputNamesFileAndLine(String content, int line, String problem) {
    assertThatThrownBy(
            () -> SockstatParser.parse("/proc/net/sockstat", content, Sockstat.newBuilder()))
        .isInstanceOf(ProcParseException.class)
        .hasMessageStartingWith("/proc/net/sockstat:" + line + ": ")
        .hasMessageContaining(problem);
  }
}
