package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.source.Problems;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcNetTcpSocketTable;
import io.handlewatch.agent.source.SocketTable;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.SourceRun;
import io.handlewatch.proto.v1.SourceStatus;
import io.handlewatch.proto.v1.TcpReader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One failing source never stops the others, and says why in the sample. */
class SamplerFailureTest {
  static final Path EDGE = Path.of("src/test/resources/proc/edge-cases/proc");

  static final SocketTable BROKEN =
      new SocketTable() {
        @Override
        public TcpReader kind() {
          return TcpReader.TCP_READER_NETLINK;
        }

        @Override
        public long forEach(SocketVisitor visitor, Problems problems) throws IOException {
          throw new IOException(
              "netlink socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: EACCES (13)");
        }
      };

  @Test
  void withoutAnySocketTableTheRestOfTheSampleStands() {
    HostSample s =
        new Sampler(
                new ProcFs(EDGE),
                List.of(BROKEN),
                SampleOptions.defaults(),
                FixtureGoldenTest.FIXED)
            .sample();
    assertThat(s.hasTcp()).isFalse();
    assertThat(s.hasPortPressure()).as("unknown without sockets, not empty").isFalse();
    assertThat(s.getFileHandles().getAllocated()).isEqualTo(4100);
    assertThat(s.getSockstat().getTcpInuse()).isEqualTo(9);
    assertThat(s.getSysctlsCount()).isPositive();
    // Processes are still ranked by fd usage; their socket counts are unknown, hence absent.
    assertThat(s.getProcessesList()).isNotEmpty();
    assertThat(s.getProcessesList()).allSatisfy(p -> assertThat(p.hasSockets()).isFalse());
    assertThat(s.getProcessesList().get(0).getPid()).isEqualTo(4121);
    assertThat(s.getProcessWalk().hasSocketsUnattributed()).isFalse();
    SourceRun tcp = source(s, "tcp");
    assertThat(tcp.getStatus()).isEqualTo(SourceStatus.SOURCE_STATUS_FAILED);
    assertThat(tcp.getErrorsList()).anySatisfy(e -> assertThat(e).contains("EACCES (13)"));
  }

  @Test
  void aFailingReaderFallsBackToTheNextAndSaysSo() {
    HostSample s =
        new Sampler(
                new ProcFs(EDGE),
                List.of(BROKEN, new ProcNetTcpSocketTable(EDGE)),
                SampleOptions.defaults(),
                FixtureGoldenTest.FIXED)
            .sample();
    assertThat(s.getTcp().getReader()).isEqualTo(TcpReader.TCP_READER_PROC);
    assertThat(s.getTcp().getTotal().getCloseWait()).isEqualTo(4);
    SourceRun tcp = source(s, "tcp");
    assertThat(tcp.getStatus()).isEqualTo(SourceStatus.SOURCE_STATUS_PARTIAL);
    assertThat(tcp.getErrorsList())
        .anySatisfy(e -> assertThat(e).startsWith("TCP_READER_NETLINK failed").contains("EACCES"))
        .anySatisfy(e -> assertThat(e).startsWith("used TCP_READER_PROC after"));
  }

  static SourceRun source(HostSample s, String name) {
    return s.getHealth().getSourcesList().stream()
        .filter(r -> r.getSource().equals(name))
        .findFirst()
        .orElseThrow();
  }
}
