package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.detect.evaluation.Traces;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `bin/handlewatch-collector replay` as a user runs it: the script passes its arguments on. */
class ReplayIT {
  /**
   * Runs {@code command} in {@code cwd}, stdout to {@code dir/out}; returns stderr after exit 0.
   */
  private static String run(Path dir, Path cwd, String... command) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .directory(cwd.toFile())
            .redirectOutput(dir.resolve("out").toFile())
            .redirectError(dir.resolve("err").toFile());
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process p = pb.start();
    assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("replay finished").isTrue();
    String err = Files.readString(dir.resolve("err"));
    assertThat(p.exitValue()).as("exit; stderr:\n%s", err).isZero();
    return err;
  }

  @Test
  void theScriptReplaysATraceFileAndPrintsAlertTransitions(@TempDir Path dir) throws Exception {
    Path trace = dir.resolve("leak.jsonl");
    Traces.named("close-wait-1/s").writeJsonLines(trace);
    Files.writeString(
        trace, "this line is not a report\n", java.nio.file.StandardOpenOption.APPEND);

    String err =
        run(
            dir,
            Path.of(".."),
            "bash",
            Path.of("../bin/handlewatch-collector").toAbsolutePath().normalize().toString(),
            "replay",
            trace.toString());

    List<String> lines = Files.readAllLines(dir.resolve("out"));
    assertThat(lines).as("stdout").hasSize(1);
    JsonNode alert = new ObjectMapper().readTree(lines.getFirst());
    assertThat(alert.get("status").asText()).isEqualTo("firing");
    assertThat(alert.at("/labels/alertname").asText()).isEqualTo("CloseWaitGrowing");
    assertThat(alert.at("/labels/remote").asText()).isEqualTo("10.0.0.5:5432");
    assertThat(alert.at("/annotations/description").asText()).contains("CLOSE_WAIT");
    assertThat(err).contains(":482: skipped", "1 malformed lines skipped");
  }

  @Test
  void aHostRecordedByTheAgentReplaysAsItIs(@TempDir Path dir) throws Exception {
    Path trace = dir.resolve("this-host.jsonl");
    run(
        dir,
        Path.of(".."),
        "bash",
        Path.of("../bin/handlewatch-agent").toAbsolutePath().normalize().toString(),
        "record",
        "--out",
        trace.toString(),
        "--count",
        "3",
        "--interval",
        "200ms");
    assertThat(Files.readAllLines(trace)).hasSize(3);
    String err =
        run(
            dir,
            Path.of(".."),
            "bash",
            Path.of("../bin/handlewatch-collector").toAbsolutePath().normalize().toString(),
            "replay",
            trace.toString());
    assertThat(err).contains("3 reports of 1 hosts", "0 malformed lines skipped");
  }

  /**
   * The replay walk-through of docs/detection.md: its exact command, on the checked-in example
   * trace.
   */
  @Test
  void theWalkThroughPagesOnceAndResolvesOnce(@TempDir Path dir) throws Exception {
    Path root = Path.of("..").toAbsolutePath().normalize();
    String command =
        Files.readAllLines(root.resolve("docs/detection.md")).stream()
            .filter(l -> l.startsWith("bin/handlewatch-collector replay collector/src/test/"))
            .findFirst()
            .orElseThrow(
                () -> new AssertionError("no replay walk-through command in docs/detection.md"));
    String err = run(dir, root, "bash", "-c", command);

    List<String> lines = Files.readAllLines(dir.resolve("out"));
    assertThat(lines).as("stdout").hasSize(2);
    ObjectMapper json = new ObjectMapper();
    JsonNode firing = json.readTree(lines.get(0));
    JsonNode resolved = json.readTree(lines.get(1));
    assertThat(firing.get("status").asText()).isEqualTo("firing");
    assertThat(firing.at("/labels/alertname").asText()).isEqualTo("CloseWaitGrowing");
    assertThat(firing.at("/labels/pid").asText()).isEqualTo("2207");
    assertThat(firing.at("/labels/comm").asText()).isEqualTo("java");
    assertThat(firing.at("/labels/remote").asText()).isEqualTo("10.0.0.5:5432");
    assertThat(firing.at("/annotations/since").asText()).isEqualTo("2026-11-20T08:15:00Z");
    // What the walk-through shows: paged two minutes after the leak began.
    assertThat(firing.get("time").asText()).startsWith("2026-11-20T08:17");
    assertThat(resolved.get("status").asText()).isEqualTo("resolved");
    assertThat(resolved.get("dedupKey").asText()).isEqualTo(firing.get("dedupKey").asText());
    // Released at 08:30: resolved once the count stayed back at its baseline for a minute.
    assertThat(resolved.get("time").asText()).startsWith("2026-11-20T08:31");
    assertThat(err).contains("1 firing, 1 resolved and 0 released transitions");
  }
}
