package io.handlewatch.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.spool.FsyncPolicy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Start-up checks of `run`: each bad setting stops it with the setting's name. */
class RunCommandTest {
  private String[] expand(String... args) {
    return ConfigFileArgs.expand(AgentMain.commandLine(), args);
  }

  static String errorOf(String... args) {
    PrintStream old = System.err;
    var buf = new ByteArrayOutputStream();
    System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      int rc = AgentMain.execute(args);
      assertThat(rc).isEqualTo(2);
    } finally {
      System.setErr(old);
    }
    return buf.toString(StandardCharsets.UTF_8);
  }

  @Test
  void configFileKeysBecomeOptionsAndFlagsWin(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("agent.properties");
    Files.writeString(f, "collector=10.0.0.5:9400\ninterval=30s\ntcp-only=true\n");
    String[] args = expand("run", "--config", f.toString(), "--interval", "5s");
    assertThat(args)
        .containsSubsequence(
            "run", "--collector=10.0.0.5:9400", "--interval=30s", "--tcp-only", "--interval", "5s");
    var parsed = AgentMain.commandLine();
    parsed.getSubcommands().get("run").setOverwrittenOptionsAllowed(true);
    CommandLine.ParseResult result = parsed.parseArgs(args);
    RunCommand run = (RunCommand) result.subcommand().commandSpec().userObject();
    assertThat(run.schedule.interval).hasSeconds(5);
    assertThat(run.collector).isEqualTo("10.0.0.5:9400");
  }

  @Test
  void labelsComeFromTheConfigFileToo(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("agent.properties");
    Files.writeString(f, "collector=10.0.0.5:9400\nlabel=env=prod,cluster=eu-1\n");
    var parsed = AgentMain.commandLine();
    parsed.getSubcommands().get("run").setOverwrittenOptionsAllowed(true);
    RunCommand run =
        (RunCommand)
            parsed
                .parseArgs(expand("run", "--config", f.toString(), "--label", "role=db"))
                .subcommand()
                .commandSpec()
                .userObject();
    assertThat(run.sampling.labels)
        .containsExactlyInAnyOrderEntriesOf(
            java.util.Map.of("env", "prod", "cluster", "eu-1", "role", "db"));
  }

  @Test
  void anUnknownConfigKeyIsNamed(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("agent.properties");
    Files.writeString(f, "collector=10.0.0.5:9400\nintervall=30s\n");
    assertThat(errorOf("run", "--config", f.toString()))
        .contains("intervall")
        .contains(f.toString());
  }

  @Test
  void badFlagsAreNamed(@TempDir Path dir) {
    assertThat(errorOf("run", "--collector", "nohost", "--state-dir", dir.toString()))
        .contains("--collector");
    assertThat(
            errorOf(
                "run", "--collector", "h:1", "--interval", "5ms", "--state-dir", dir.toString()))
        .contains("--interval");
    assertThat(
            errorOf(
                "run",
                "--collector",
                "h:1",
                "--keepalive-time",
                "1s",
                "--state-dir",
                dir.toString()))
        .contains("--keepalive-time")
        .contains("at least 10s");
    assertThat(errorOf("run", "--collector", "h:1", "--keepalive-timeout", "soon"))
        .contains("--keepalive-timeout");
    assertThat(errorOf("run", "--collector", "h:1", "--queue-max-bytes", "lots"))
        .contains("--queue-max-bytes");
    assertThat(
            errorOf(
                "run",
                "--collector",
                "h:1",
                "--spool-max-bytes",
                "1KiB",
                "--state-dir",
                dir.toString()))
        .contains("--spool-max-bytes")
        .contains("64KiB");
    assertThat(errorOf("run", "--collector", "h:1", "--spool-fsync", "sometimes"))
        .contains("--spool-fsync")
        .contains("sometimes");
  }

  @Test
  void spoolOptionsComeFromTheConfigFileToo(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("agent.properties");
    Files.writeString(
        f,
        "collector=10.0.0.5:9400\nspool-dir=/var/spool/hw\nspool-max-bytes=16MiB\n"
            + "spool-fsync=interval\n");
    var parsed = AgentMain.commandLine();
    parsed.getSubcommands().get("run").setOverwrittenOptionsAllowed(true);
    RunCommand run =
        (RunCommand)
            parsed
                .parseArgs(expand("run", "--config", f.toString()))
                .subcommand()
                .commandSpec()
                .userObject();
    assertThat(run.spoolDir).isEqualTo(Path.of("/var/spool/hw"));
    assertThat(run.spoolMaxBytes).isEqualTo(16L << 20);
    assertThat(run.spoolFsync).isEqualTo(FsyncPolicy.INTERVAL);

    RunCommand defaults =
        (RunCommand)
            AgentMain.commandLine()
                .parseArgs("run", "--collector", "h:1")
                .subcommand()
                .commandSpec()
                .userObject();
    assertThat(defaults.spoolDir).as("spool/ under --state-dir, decided at start").isNull();
    assertThat(defaults.spoolMaxBytes).isEqualTo(64L << 20);
    assertThat(defaults.spoolFsync).isEqualTo(FsyncPolicy.ALWAYS);
  }
}
