package io.handlewatch.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.TcpReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SampleCommandTest {
  static final String EDGE = "src/test/resources/proc/edge-cases/proc";

  record Run(int exit, String out, String err) {}

  static Run run(String... args) {
    CommandLine cli = AgentMain.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void jsonIsTheProtobufMappingOfTheSample() throws Exception {
    Run r = run("sample", "--json", "--proc-root", EDGE);
    assertThat(r.exit()).as(r.err()).isZero();
    HostSample.Builder b = HostSample.newBuilder();
    JsonFormat.parser().merge(r.out(), b);
    HostSample s = b.build();
    assertThat(s.getHost().getHostname()).isEqualTo("edge-host");
    assertThat(s.getTcp().getReader()).isEqualTo(TcpReader.TCP_READER_PROC);
    assertThat(s.getTcp().getIpv4().getCloseWait()).isEqualTo(3);
  }

  @Test
  void compactJsonWithCountPrintsOneLinePerSample() throws Exception {
    Run r =
        run(
            "sample",
            "--json",
            "--compact",
            "--count",
            "3",
            "--interval",
            "0s",
            "--proc-root",
            EDGE);
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out().lines()).hasSize(3);
    for (String line : r.out().lines().toList()) {
      HostSample.Builder b = HostSample.newBuilder();
      JsonFormat.parser().merge(line, b);
      assertThat(b.getTcp().getTotal().getCloseWait()).isEqualTo(4);
    }
  }

  @Test
  void textReportNamesTheLeakingProcessAndItsPeer() {
    Run r = run("sample", "--proc-root", EDGE);
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("handlewatch sample of edge-host")
        .contains("CLOSE_WAIT")
        .contains("4121")
        .contains("10.0.0.5:5432 x3")
        .contains("net.ipv4.tcp_tw_recycle = 1");
  }

  @Test
  void tcpOnlyLeavesOutEverythingElse() throws Exception {
    Run r = run("sample", "--json", "--tcp-only", "--proc-root", EDGE);
    assertThat(r.exit()).as(r.err()).isZero();
    HostSample.Builder b = HostSample.newBuilder();
    JsonFormat.parser().merge(r.out(), b);
    assertThat(b.hasTcp()).isTrue();
    assertThat(b.hasProcessWalk()).isFalse();
    assertThat(b.getSysctlsCount()).isZero();
    assertThat(b.getHealth().getSourcesList())
        .extracting(x -> x.getSource())
        .containsExactly("tcp");
  }

  @Test
  void badArgumentsAreNamed() {
    Run missing = run("sample", "--proc-root", "/nonexistent/proc");
    assertThat(missing.exit()).isEqualTo(2);
    assertThat(missing.err()).contains("--proc-root: not a directory: /nonexistent/proc");

    Run count = run("sample", "--count", "0", "--proc-root", EDGE);
    assertThat(count.exit()).isEqualTo(2);
    assertThat(count.err()).contains("--count must be at least 1");

    Run sysctl = run("sample", "--sysctl", "../../etc/shadow", "--proc-root", EDGE);
    assertThat(sysctl.exit()).isEqualTo(2);
    assertThat(sysctl.err()).contains("not a sysctl name: '../../etc/shadow'");

    Run interval = run("sample", "--interval", "soon", "--proc-root", EDGE);
    assertThat(interval.exit()).isEqualTo(2);
    assertThat(interval.err()).contains("'soon' is not a duration");

    Run reader = run("sample", "--tcp-reader", "carrier-pigeon", "--proc-root", EDGE);
    assertThat(reader.exit()).isEqualTo(2);
    assertThat(reader.err()).contains("--tcp-reader");
  }

  @Test
  void labelsTravelWithTheSampleRepeatableOrCommaSeparated() throws Exception {
    Run r =
        run(
            "sample",
            "--json",
            "--proc-root",
            EDGE,
            "--label",
            "env=prod",
            "--label",
            "cluster=eu-1,role=db");
    assertThat(r.exit()).as(r.err()).isZero();
    HostSample.Builder b = HostSample.newBuilder();
    JsonFormat.parser().merge(r.out(), b);
    assertThat(b.getHost().getLabelsMap())
        .containsExactlyInAnyOrderEntriesOf(
            java.util.Map.of("env", "prod", "cluster", "eu-1", "role", "db"));
  }

  @Test
  void badLabelsStopStartUpNamingTheLabel() {
    Run reserved = run("sample", "--proc-root", EDGE, "--label", "namespace=x");
    assertThat(reserved.exit()).isEqualTo(2);
    assertThat(reserved.err()).contains("--label namespace").contains("reserved");
    Run badName = run("sample", "--proc-root", EDGE, "--label", "1env=x");
    assertThat(badName.exit()).isEqualTo(2);
    assertThat(badName.err()).contains("--label 1env");
    Run empty = run("sample", "--proc-root", EDGE, "--label", "env=");
    assertThat(empty.exit()).isEqualTo(2);
    assertThat(empty.err()).contains("--label env");
    Run ns = run("sample", "--proc-root", EDGE, "--namespaces", "some");
    assertThat(ns.exit()).isEqualTo(2);
    assertThat(ns.err()).contains("--namespaces");
  }
}
