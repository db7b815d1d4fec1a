package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcNetTcpSocketTable;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.ProcessSample;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CommandLinesTest {
  private static final String JAVA =
      "java\0-Xmx4g\0-Dpassword=hunter2\0-jar\0/opt/app/orders.jar\0";

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "FULL  | java -Xmx4g -Dpassword=hunter2 -jar /opt/app/orders.jar",
        "ARGV0 | java",
      })
  void keepsWhatThePolicySays(CommandLines policy, String expected) {
    assertThat(policy.apply(JAVA)).isEqualTo(expected);
  }

  @Test
  void noneKeepsNothingAndEmptyIsAbsent() {
    assertThat(CommandLines.NONE.apply(JAVA)).isNull();
    assertThat(CommandLines.FULL.apply("")).isNull();
    assertThat(CommandLines.ARGV0.apply("\0")).isNull();
  }

  @Test
  void longCommandLinesAreCut() {
    String longArg = "x".repeat(500);
    assertThat(CommandLines.FULL.apply("prog\0" + longArg)).hasSize(CommandLines.MAX_CHARS);
    assertThat(CommandLines.ARGV0.apply(longArg + "\0arg")).hasSize(CommandLines.MAX_CHARS);
  }

  /** The edge-cases fixture's java process runs with arguments; by policy they stay home. */
  @Test
  void theSamplerAppliesThePolicy() {
    Path proc = FixtureGoldenTest.FIXTURES.resolve("edge-cases/proc");
    assertThat(cmdlineOf(sample(proc, CommandLines.FULL), "java"))
        .hasValue("java -Xmx4g -jar /opt/app/orders.jar");
    assertThat(cmdlineOf(sample(proc, CommandLines.ARGV0), "java")).hasValue("java");
    assertThat(cmdlineOf(sample(proc, CommandLines.NONE), "java")).isEmpty();
  }

  private static HostSample sample(Path proc, CommandLines policy) {
    SampleOptions d = SampleOptions.defaults();
    SampleOptions options =
        new SampleOptions(
            d.topProcesses(),
            d.topEndpoints(),
            false,
            List.of(),
            d.fullRescanEvery(),
            null,
            null,
            policy);
    return new Sampler(
            new ProcFs(proc),
            List.of(new ProcNetTcpSocketTable(proc)),
            options,
            FixtureGoldenTest.FIXED)
        .sample();
  }

  private static Optional<String> cmdlineOf(HostSample s, String comm) {
    ProcessSample p =
        s.getProcessesList().stream()
            .filter(x -> x.getComm().equals(comm))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no " + comm + " process in the sample"));
    return p.hasCmdline() ? Optional.of(p.getCmdline()) : Optional.empty();
  }
}
