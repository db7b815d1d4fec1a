package io.handlewatch.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.handlewatch.proto.v1.HostReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code record}: one HostReport JSON line per sample, numbered, appended, bounded by --count. */
class RecordCommandTest {
  @Test
  void recordsCountReportsAsJsonLines(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("trace.jsonl");
    String[] args = {
      "record",
      "--out",
      out.toString(),
      "--count",
      "3",
      "--interval",
      "100ms",
      "--proc-root",
      SampleCommandTest.EDGE
    };
    var r = SampleCommandTest.run(args);
    assertThat(r.exit()).as(r.err()).isZero();
    List<String> lines = Files.readAllLines(out);
    assertThat(lines).hasSize(3);
    for (int i = 0; i < lines.size(); i++) {
      HostReport.Builder b = HostReport.newBuilder();
      JsonFormat.parser().merge(lines.get(i), b);
      assertThat(b.getSeq()).isEqualTo(i + 1);
      assertThat(b.getSample().getHost().getHostname()).isEqualTo("edge-host");
      assertThat(b.getSample().getTcp().getIpv4().getCloseWait()).isEqualTo(3);
      assertThat(b.getSample().hasTime()).isTrue();
    }
    // A second recording appends: a capture can be resumed.
    assertThat(SampleCommandTest.run(args).exit()).isZero();
    assertThat(Files.readAllLines(out)).hasSize(6);
  }

  @Test
  void aBadCountIsRefusedNamingTheOption(@TempDir Path dir) {
    var r =
        SampleCommandTest.run(
            "record",
            "--out",
            dir.resolve("t").toString(),
            "--count",
            "-1",
            "--proc-root",
            SampleCommandTest.EDGE);
    assertThat(r.exit()).isNotZero();
    assertThat(r.err()).contains("--count");
  }
}
