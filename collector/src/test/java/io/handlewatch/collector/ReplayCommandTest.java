package io.handlewatch.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.core.cli.Cli;
import io.dropwizard.core.setup.Bootstrap;
import io.dropwizard.util.JarLocation;
import io.handlewatch.collector.detect.evaluation.Trace;
import io.handlewatch.collector.detect.evaluation.Traces;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `handlewatch-collector replay` through Dropwizard's command line, on generated traces. */
class ReplayCommandTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  /** Runs the CLI as main() would; returns whether it succeeded. */
  private boolean replay(String... args) {
    CollectorApplication app = new CollectorApplication();
    Bootstrap<CollectorConfiguration> bootstrap = new Bootstrap<>(app);
    PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
    bootstrap.addCommand(new ReplayCommand(o, e));
    Cli cli = new Cli(new JarLocation(getClass()), bootstrap, o, e);
    return cli.run(args).isEmpty();
  }

  private List<JsonNode> lines() throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> nodes = new ArrayList<>();
    for (String l : out.toString(StandardCharsets.UTF_8).split("\n")) {
      if (!l.isBlank()) nodes.add(json.readTree(l));
    }
    return nodes;
  }

  private static Trace trace(String name) {
    return Traces.named(name);
  }

  @Test
  void aCloseWaitLeakReplaysAsOneFiringLineNamingProcessAndRemote(@TempDir Path dir)
      throws Exception {
    Trace leak = trace("close-wait-1/s");
    Path file = dir.resolve("leak.jsonl");
    leak.writeJsonLines(file);

    assertThat(replay("replay", file.toString())).as("stderr: %s", err).isTrue();

    List<JsonNode> alerts = lines();
    assertThat(alerts).hasSize(1);
    JsonNode a = alerts.getFirst();
    assertThat(a.get("status").asText()).isEqualTo("firing");
    assertThat(a.at("/labels/alertname").asText()).isEqualTo("CloseWaitGrowing");
    assertThat(a.at("/labels/severity").asText()).isEqualTo("critical");
    assertThat(a.at("/labels/host").asText()).isEqualTo("close-wait-1-s");
    assertThat(a.at("/labels/comm").asText()).isEqualTo("api-gw");
    assertThat(a.at("/labels/pid").asText()).isEqualTo("2207");
    assertThat(a.at("/labels/remote").asText()).isEqualTo("10.0.0.5:5432");
    assertThat(a.at("/annotations/summary").asText())
        .contains("api-gw[2207]", "CLOSE_WAIT", "10.0.0.5:5432", "/min");
    assertThat(a.at("/annotations/runbook_url").asText()).endsWith("#close_wait");
    var time = java.time.Instant.parse(a.get("time").asText());
    assertThat(time).isAfter(leak.leak().start()).isBefore(leak.leak().start().plusSeconds(180));
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("0 malformed lines", "1 alerts still firing");
  }

  @Test
  void samplesAsTheAgentPrintsThemReplayLikeReports(@TempDir Path dir) throws Exception {
    // `handlewatch-agent sample --json --compact` lines: HostSamples, no seq.
    Trace leak = trace("close-wait-1/s");
    Path file = dir.resolve("samples.jsonl");
    var printer = com.google.protobuf.util.JsonFormat.printer().omittingInsignificantWhitespace();
    List<String> samples = new ArrayList<>();
    for (var r : leak.reports()) samples.add(printer.print(r.getSample()));
    Files.write(file, samples);

    assertThat(replay("replay", file.toString())).as("stderr: %s", err).isTrue();

    List<JsonNode> alerts = lines();
    assertThat(alerts).hasSize(1);
    assertThat(alerts.getFirst().at("/labels/alertname").asText()).isEqualTo("CloseWaitGrowing");
    assertThat(alerts.getFirst().at("/labels/remote").asText()).isEqualTo("10.0.0.5:5432");
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains(samples.size() + " reports of 1 hosts", "0 malformed lines")
        .doesNotContain("not a HostReport");
  }

  @Test
  void malformedLinesAreNamedCountedAndSkipped(@TempDir Path dir) throws Exception {
    Trace quiet = trace("stable-5000");
    Path file = dir.resolve("mixed.jsonl");
    quiet.writeJsonLines(file);
    List<String> lines = new ArrayList<>(Files.readAllLines(file));
    lines.add(3, "{not json");
    lines.add(7, "{\"seq\": 9}");
    Files.write(file, lines);

    assertThat(replay("replay", file.toString())).isTrue();

    assertThat(lines()).isEmpty();
    String e = err.toString(StandardCharsets.UTF_8);
    assertThat(e)
        .contains("mixed.jsonl:4: skipped", "mixed.jsonl:8: skipped, not a HostReport: no sample");
    assertThat(e)
        .contains(quiet.reports().size() + " reports of 1 hosts", "2 malformed lines skipped");
  }

  @Test
  void theConfigurationsDetectionSectionApplies(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("leak.jsonl");
    trace("close-wait-10/min").writeJsonLines(file);
    Path config = dir.resolve("strict.yml");
    // Growth must add 5,000 sockets before it pages: this leak adds 600 in the trace.
    Files.writeString(config, "detection:\n  closeWait:\n    minGrowth: 5000\n");

    assertThat(replay("replay", file.toString(), "--config", config.toString()))
        .as("stderr: %s", err)
        .isTrue();
    assertThat(lines()).isEmpty();
  }

  @Test
  void aBadConfigurationNamesTheKey(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("t.jsonl");
    Files.writeString(file, "");
    Path config = dir.resolve("bad.yml");
    Files.writeString(config, "detection:\n  window: 10s\n");

    assertThat(replay("replay", file.toString(), "--config", config.toString())).isFalse();
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("detection.window");
  }
}
