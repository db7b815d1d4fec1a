package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcNetTcpSocketTable;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.SourceRun;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Samples each checked-in /proc tree under src/test/resources/proc/CASE/proc and compares the
 * result with CASE/golden.json, and its text with CASE/golden.txt. Timings and the agent's RSS
 * differ between runs and are blanked.
 *
 * <p>To regenerate on purpose after a deliberate change: {@code mvn -pl agent test
 * -Dtest=FixtureGoldenTest -Dhandlewatch.updateGoldens=true}, then review the diff.
 */
class FixtureGoldenTest {
  static final Path FIXTURES = Path.of("src/test/resources/proc");
  static final Clock FIXED = Clock.fixed(Instant.parse("2026-11-22T12:00:00Z"), ZoneOffset.UTC);

  static Stream<String> cases() throws Exception {
    try (Stream<Path> dirs = Files.list(FIXTURES)) {
      List<String> names =
          dirs.filter(d -> Files.isDirectory(d.resolve("proc")))
              .map(d -> d.getFileName().toString())
              .sorted()
              .toList();
      assertThat(names).as("fixture cases").hasSizeGreaterThanOrEqualTo(2);
      return names.stream();
    }
  }

  @ParameterizedTest
  @MethodSource("cases")
  void sampleMatchesGolden(String name) throws Exception {
    Path dir = FIXTURES.resolve(name);
    HostSample sample = sampleOf(dir.resolve("proc"));
    String json = JsonFormat.printer().print(normalized(sample)) + "\n";
    Path golden = dir.resolve("golden.json");
    if (Boolean.getBoolean("handlewatch.updateGoldens")) {
      Files.writeString(golden, json, StandardCharsets.UTF_8);
    }
    assertThat(json).isEqualTo(Files.readString(golden, StandardCharsets.UTF_8));
  }

  /** The human text of the same sample: what `handlewatch-agent sample` prints. */
  @ParameterizedTest
  @MethodSource("cases")
  void textMatchesGolden(String name) throws Exception {
    Path dir = FIXTURES.resolve(name);
    String text = SampleText.render(normalized(sampleOf(dir.resolve("proc"))));
    Path golden = dir.resolve("golden.txt");
    if (Boolean.getBoolean("handlewatch.updateGoldens")) {
      Files.writeString(golden, text, StandardCharsets.UTF_8);
    }
    assertThat(text).isEqualTo(Files.readString(golden, StandardCharsets.UTF_8));
  }

  static HostSample sampleOf(Path procRoot) {
    ProcFs fs = new ProcFs(procRoot);
    Sampler sampler =
        new Sampler(
            fs, List.of(new ProcNetTcpSocketTable(procRoot)), SampleOptions.defaults(), FIXED);
    return sampler.sample();
  }

  /**
   * The sample without what changes from run to run: timings and the agent's RSS, and from build to
   * build: the agent's version and commit (AgentBuildTest checks those).
   */
  static HostSample normalized(HostSample s) {
    AgentHealth.Builder h =
        s.getHealth().toBuilder().clearWallMicros().clearCpuMicros().clearRssBytes();
    for (int i = 0; i < h.getSourcesCount(); i++) {
      SourceRun.Builder r = h.getSourcesBuilder(i);
      r.clearWallMicros().clearCpuMicros();
    }
    assertThat(s.getHost().getAgentVersion()).isEqualTo(AgentBuild.current().version());
    // The monotonic clock differs at every run, like the costs.
    return s.toBuilder()
        .setHealth(h)
        .setHost(s.getHost().toBuilder().clearAgentVersion().clearAgentCommit())
        .clearMonotonicNanos()
        .build();
  }
}
