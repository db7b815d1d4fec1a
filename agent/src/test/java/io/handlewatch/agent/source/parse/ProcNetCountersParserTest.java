package io.handlewatch.agent.source.parse;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.source.ConntrackSource;
import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.TcpCountersSource;
import io.handlewatch.proto.v1.Conntrack;
import io.handlewatch.proto.v1.TcpCounters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * /proc/net/netstat, /proc/net/snmp and /proc/net/stat/nf_conntrack as a 6.18 kernel wrote them
 * (src/test/resources/netcounters/kernel-6.18), and hand-built broken ones (…/malformed).
 */
class ProcNetCountersParserTest {
  static final Path REAL = Path.of("src/test/resources/netcounters/kernel-6.18");
  static final Path BROKEN = Path.of("src/test/resources/netcounters/malformed");

  @Test
  void realFilesGiveEveryCounterTheirColumnsHold() throws Exception {
    Problems p = new Problems();
    Map<String, Long> v =
        ProcNetCountersParser.parse(
            "netstat",
            Files.readString(REAL.resolve("netstat")),
            Set.of("TcpExt.ListenOverflows", "TcpExt.TCPAbortOnMemory", "TcpExt.NoSuchColumn"),
            p);
    assertThat(p.isEmpty()).as(p.reasons().toString()).isTrue();
    assertThat(v).containsOnlyKeys("TcpExt.ListenOverflows", "TcpExt.TCPAbortOnMemory");
    // Cross-checked by hand against the file: the value under the same column.
    String[] lines = Files.readString(REAL.resolve("netstat")).split("\n");
    String[] names = lines[0].split("\\s+");
    String[] values = lines[1].split("\\s+");
    int i = java.util.Arrays.asList(names).indexOf("ListenOverflows");
    assertThat(v.get("TcpExt.ListenOverflows")).isEqualTo(Long.parseLong(values[i]));

    Map<String, Long> snmp =
        ProcNetCountersParser.parse(
            "snmp",
            Files.readString(REAL.resolve("snmp")),
            Set.of("Tcp.RetransSegs", "Tcp.OutSegs", "Tcp.AttemptFails", "Tcp.EstabResets"),
            p);
    assertThat(p.isEmpty()).as("Tcp MaxConn -1 is not wanted, so not an error").isTrue();
    assertThat(snmp).hasSize(4);
    assertThat(snmp.get("Tcp.OutSegs")).isGreaterThanOrEqualTo(snmp.get("Tcp.RetransSegs"));
  }

  @Test
  void brokenPairsAndValuesAreSkippedAndNamedTheRestStillCounts() throws Exception {
    Problems p = new Problems();
    Map<String, Long> v =
        ProcNetCountersParser.parse(
            "/proc/net/netstat",
            Files.readString(BROKEN.resolve("netstat")),
            Set.of(
                "TcpExt.SyncookiesSent",
                "TcpExt.ListenOverflows",
                "TcpExt.ListenDrops",
                "TcpExt.TCPAbortOnMemory",
                "IpExt.InNoRoutes"),
            p);
    assertThat(v)
        .isEqualTo(
            Map.of(
                "TcpExt.SyncookiesSent", 3L,
                "TcpExt.ListenOverflows", 4L,
                "TcpExt.TCPAbortOnMemory", 5L));
    assertThat(p.skipped()).isEqualTo(4);
    assertThat(p.reasons())
        .containsExactly(
            "/proc/net/netstat:2: 'TcpExt:' has 3 names but 2 values: pair skipped",
            "/proc/net/netstat:3: expected 'Label: ...', got 'garbage line'",
            "/proc/net/netstat:5: expected a number for 'ListenDrops', got 'x'",
            "/proc/net/netstat:6: names of 'IpExt:' without a line of values");
  }

  @Test
  void sourceReadsBothFilesAndSaysWhichIsMissing(@TempDir Path root) throws Exception {
    Files.createDirectories(root.resolve("net"));
    Files.copy(BROKEN.resolve("snmp"), root.resolve("net/snmp"));
    Problems p = new Problems();
    TcpCounters c = new TcpCountersSource(new ProcFs(root), "net").read(p);
    assertThat(c.hasOutSegs()).isTrue();
    assertThat(c.getOutSegs()).isEqualTo(77);
    assertThat(c.hasRetransSegs()).as("-5 is no counter").isFalse();
    assertThat(c.hasListenOverflows()).as("netstat missing: absent, not 0").isFalse();
    assertThat(p.reasons())
        .anySatisfy(r -> assertThat(r).contains("'RetransSegs'").contains("-5"))
        .anySatisfy(r -> assertThat(r).startsWith("missing: ").endsWith("net/netstat"));

    Files.delete(root.resolve("net/snmp"));
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> new TcpCountersSource(new ProcFs(root), "net").read(new Problems()))
        .isInstanceOf(java.nio.file.NoSuchFileException.class);
  }

  @Test
  void conntrackEntriesColumnAndSysctls(@TempDir Path root) throws Exception {
    assertThat(
            ConntrackSource.entries(
                "stat", "entries  clashres found\n0000002a  00000000 00000000\n0000002a  0 0\n"))
        .isEqualTo(42);
    assertThat(ConntrackSource.entries("stat", Files.readString(REAL.resolve("stat_nf_conntrack"))))
        .isGreaterThanOrEqualTo(0);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                ConntrackSource.entries(
                    "/proc/1/net/stat/nf_conntrack",
                    Files.readString(BROKEN.resolve("stat_nf_conntrack"))))
        .isInstanceOf(ProcParseException.class)
        .hasMessage(
            "/proc/1/net/stat/nf_conntrack:2: expected 8 hex digits for entries, got 'zz000001'");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> ConntrackSource.entries("f", "entries\n"))
        .isInstanceOf(ProcParseException.class);

    Problems p = new Problems();
    assertThat(new ConntrackSource(new ProcFs(root)).read(p))
        .as("no conntrack: unset, not an error")
        .isNull();
    assertThat(p.isEmpty()).isTrue();
    Path nf = Files.createDirectories(root.resolve("sys/net/netfilter"));
    Files.writeString(nf.resolve("nf_conntrack_count"), "17\n");
    Files.writeString(nf.resolve("nf_conntrack_max"), "26x\n");
    Conntrack c = new ConntrackSource(new ProcFs(root)).read(p);
    assertThat(c.getCount()).isEqualTo(17);
    assertThat(c.hasMax()).isFalse();
    assertThat(c.hasBuckets()).isFalse();
    assertThat(p.skipped()).isEqualTo(1);
    assertThat(p.reasons().get(0)).contains("nf_conntrack_max").contains("26x");
  }
}
