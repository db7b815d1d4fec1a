package io.handlewatch.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.SourceStatus;
import io.handlewatch.proto.v1.TcpReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs the real launcher, {@code bin/handlewatch-agent}, as a user would: it must find a JDK 25 by
 * itself, run the packaged jar, and print a sample of this host; and without privileges it must
 * still print the system-wide figures and count what it could not read.
 */
class AgentLauncherIT {
  static final Path LAUNCHER = Path.of("../bin/handlewatch-agent").toAbsolutePath().normalize();

  record Result(int exit, String out, String err) {}

  static Result launch(List<String> prefix, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(LAUNCHER.toString());
    cmd.addAll(List.of(args));
    // The launcher must find JDK 25 without help: hide the one Maven runs on.
    return exec(cmd, Map.of(), List.of("JAVA_HOME"));
  }

  /** Runs a command to its end with these variables set and those removed. */
  static Result exec(List<String> cmd, Map<String, String> set, List<String> remove)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(set);
    remove.forEach(pb.environment()::remove);
    Path err = Files.createTempFile("agent-err", ".txt");
    pb.redirectError(err.toFile());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("agent finished").isTrue();
    String stderr = Files.readString(err);
    Files.delete(err);
    return new Result(p.exitValue(), out, stderr);
  }

  static HostSample parse(String json) throws IOException {
    HostSample.Builder b = HostSample.newBuilder();
    JsonFormat.parser().merge(json, b);
    return b.build();
  }

  @Test
  void samplesThisHostThroughNetlink() throws Exception {
    Result r = launch(List.of(), "sample", "--json");
    assertThat(r.exit()).as(r.err()).isZero();
    HostSample s = parse(r.out());
    assertThat(s.getTcp().getReader()).isEqualTo(TcpReader.TCP_READER_NETLINK);
    assertThat(s.getFileHandles().getMax()).isPositive();
    assertThat(s.getProcessWalk().getProcessesSeen()).isPositive();
    assertThat(s.getSysctlsList())
        .anySatisfy(k -> assertThat(k.getName()).isEqualTo("net.core.somaxconn"));
    assertThat(s.getHealth().getSourcesList())
        .allSatisfy(
            src ->
                assertThat(src.getStatus())
                    .as(src.toString())
                    .isNotEqualTo(SourceStatus.SOURCE_STATUS_FAILED));
    assertThat(s.getHealth().getRssBytes()).isPositive();
  }

  @Test
  void textReportByDefault() throws Exception {
    Result r = launch(List.of(), "sample");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("TCP sockets (netlink sock_diag)")
        .contains("file handles:")
        .contains("sample cost:");
  }

  @Test
  void withoutPrivilegesTheSystemFiguresStayAndUnreadableProcessesAreCounted() throws Exception {
    // setpriv drops to nobody with no capabilities: other users' fd tables are closed to it.
    Result r =
        launch(
            List.of(
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all"),
            "sample",
            "--json");
    assertThat(r.exit()).as(r.err()).isZero();
    HostSample s = parse(r.out());
    assertThat(s.hasTcp()).isTrue();
    assertThat(s.getTcp().getTotal().getListen()).isPositive();
    assertThat(s.hasFileHandles()).isTrue();
    assertThat(s.getProcessWalk().getProcessesUnreadable())
        .as("processes of root that nobody cannot read")
        .isPositive();
  }
}
