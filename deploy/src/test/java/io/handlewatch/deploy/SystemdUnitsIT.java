package io.handlewatch.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/systemd: the units pass {@code systemd-analyze verify} without a single warning, the
 * sysusers file creates the user, the agent holds exactly its two capabilities and the collector
 * none, and the agent's ExecStart (with the example properties file) parses with the agent's own
 * command line.
 */
class SystemdUnitsIT {
  static final Path SYSTEMD = DeployFiles.DEPLOY.resolve("systemd");
  static final Path AGENT = SYSTEMD.resolve("handlewatch-agent.service");
  static final Path COLLECTOR = SYSTEMD.resolve("handlewatch-collector.service");

  @TempDir static Path dir;

  record Run(int exit, String out) {}

  @BeforeAll
  static void systemdAnalyzeRuns() throws Exception {
    Run version = run(List.of("systemd-analyze", "--version"));
    assumeTrue(
        version != null && version.exit() == 0,
        "systemd-analyze cannot run here (bin/test installs Debian's systemd package)");
  }

  @Test
  void bothUnitsVerifyWithoutAWarning() throws Exception {
    List<Path> units = installedCopies(AGENT, COLLECTOR);
    List<String> cmd = new ArrayList<>(List.of("systemd-analyze", "verify"));
    units.forEach(u -> cmd.add(u.toString()));
    Run r = run(cmd);
    assertThat(r.exit()).as(r.out()).isZero();
    // verify exits 0 on unknown keys and bad values, and only says so: any line about our units
    // is a finding.
    assertThat(r.out().lines().filter(l -> l.contains("handlewatch-")).toList()).isEmpty();
  }

  @Test
  void verifyWouldCatchAMistake() throws Exception {
    // The check above is only worth something if verify reads these files: a misspelt key in a
    // copy must show up.
    Path broken = installedCopies(AGENT).getFirst();
    Files.writeString(
        broken,
        Files.readString(broken)
            .replace("ProtectSystem=strict", "ProtectSystem=strict\nProtectSytem=strict"));
    Run r = run(List.of("systemd-analyze", "verify", broken.toString()));
    assertThat(r.out()).contains("ProtectSytem");
  }

  @Test
  void agentHoldsExactlyTheTwoCapabilitiesAsItsOwnUser() throws Exception {
    SystemdUnits u = SystemdUnits.read(AGENT);
    List<String> two = List.of("CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE");
    assertThat(words(u.get("Service", "AmbientCapabilities")))
        .containsExactlyInAnyOrderElementsOf(two);
    assertThat(words(u.get("Service", "CapabilityBoundingSet")))
        .containsExactlyInAnyOrderElementsOf(two);
    assertThat(u.get("Service", "User")).isEqualTo("handlewatch");
    assertThat(u.get("Service", "NoNewPrivileges")).isEqualTo("yes");
    assertThat(u.get("Service", "ProtectSystem")).isEqualTo("strict");
    assertThat(u.get("Service", "ProtectHome")).isEqualTo("yes");
    assertThat(u.get("Service", "PrivateTmp")).isEqualTo("yes");
    // The state directory (sequence, spool) is the one writable place, and the agent uses it.
    assertThat(u.get("Service", "StateDirectory")).isEqualTo("handlewatch-agent");
    assertThat(u.all("Service", "ReadWritePaths")).containsExactly("/var/lib/handlewatch-agent");
    assertThat(u.get("Service", "ExecStart")).contains("--state-dir /var/lib/handlewatch-agent");
    // It must see every process and the host's sockets.
    assertThat(u.sections().get("Service"))
        .doesNotContainKeys("ProtectProc", "ProcSubset", "PrivateNetwork", "DynamicUser");
    assertThat(u.get("Service", "Restart")).isEqualTo("always");
    assertThat(u.get("Service", "RestartSec")).isNotBlank();
    assertThat(u.get("Service", "MemoryMax")).isEqualTo("128M");
    assertThat(u.get("Service", "EnvironmentFile")).isEqualTo("-/etc/default/handlewatch-agent");
  }

  @Test
  void collectorHasNoCapabilities() throws Exception {
    SystemdUnits u = SystemdUnits.read(COLLECTOR);
    assertThat(u.get("Service", "CapabilityBoundingSet")).isEmpty();
    assertThat(u.get("Service", "AmbientCapabilities")).isEmpty();
    assertThat(u.get("Service", "User")).isEqualTo("handlewatch");
    assertThat(u.get("Service", "NoNewPrivileges")).isEqualTo("yes");
    assertThat(u.get("Service", "ProtectSystem")).isEqualTo("strict");
    assertThat(u.get("Service", "Restart")).isEqualTo("on-failure");
    assertThat(u.get("Service", "ExecStart"))
        .isEqualTo(
            "/opt/handlewatch-collector/bin/handlewatch-collector server /etc/handlewatch/collector.yml");
  }

  @Test
  void agentExecStartAndTheExamplePropertiesParse() throws Exception {
    String exec = SystemdUnits.read(AGENT).get("Service", "ExecStart");
    List<String> words = new ArrayList<>(words(exec));
    assertThat(words.removeFirst()).isEqualTo("/opt/handlewatch-agent/bin/handlewatch-agent");
    // $HANDLEWATCH_AGENT_ARGS expands to nothing when the environment file leaves it unset.
    words.remove("$HANDLEWATCH_AGENT_ARGS");
    int config = words.indexOf("--config");
    assertThat(words.get(config + 1)).isEqualTo("/etc/handlewatch/agent.properties");
    words.set(config + 1, SYSTEMD.resolve("agent.properties").toString());
    var parsed = AgentCommandCheck.parse(words);
    assertThat(parsed.subcommand().matchedOptionValue("--collector", ""))
        .isEqualTo("collector.example.internal:9400");
  }

  @Test
  void sysusersCreatesTheUser() throws Exception {
    Path root = Files.createDirectories(dir.resolve("sysroot/etc"));
    Run r =
        run(
            List.of(
                "systemd-sysusers",
                "--root=" + root.getParent(),
                SYSTEMD.resolve("handlewatch.sysusers").toString()));
    assertThat(r.exit()).as(r.out()).isZero();
    String user =
        Files.readAllLines(root.resolve("passwd")).stream()
            .filter(l -> l.startsWith("handlewatch:"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no handlewatch user: " + r.out()));
    String[] f = user.split(":");
    assertThat(Integer.parseInt(f[2])).as("a system uid").isLessThan(1000);
    assertThat(f[6]).isEqualTo("/usr/sbin/nologin");
    assertThat(Files.readString(root.resolve("group"))).contains("handlewatch:");
  }

  /**
   * Copies of units whose ExecStart points at files this test creates: verify checks that the
   * programs exist and are executable, and /opt/handlewatch-* does not exist here.
   */
  static List<Path> installedCopies(Path... units) throws IOException {
    Path opt = dir.resolve("opt");
    for (String program :
        List.of(
            "handlewatch-agent/bin/handlewatch-agent",
            "handlewatch-collector/bin/handlewatch-collector")) {
      Path p = opt.resolve(program);
      Files.createDirectories(p.getParent());
      if (!Files.exists(p)) {
        Files.writeString(p, "#!/bin/sh\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
      }
    }
    List<Path> copies = new ArrayList<>();
    for (Path unit : units) {
      String text = Files.readString(unit);
      String moved = text.replace("ExecStart=/opt/", "ExecStart=" + opt + "/");
      assertThat(moved).as("ExecStart under /opt in " + unit).isNotEqualTo(text);
      Path copy =
          Files.createDirectories(dir.resolve("units-" + copies.size() + "-" + System.nanoTime()))
              .resolve(unit.getFileName());
      Files.writeString(copy, moved);
      copies.add(copy);
    }
    return copies;
  }

  static List<String> words(String value) {
    return value == null || value.isBlank()
        ? List.of()
        : Arrays.asList(value.strip().split("\\s+"));
  }

  /** Runs a command to its end; null when it cannot be started at all. */
  static Run run(List<String> cmd) throws InterruptedException {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(2, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new AssertionError(cmd + " did not finish in 2 minutes");
      }
      return new Run(p.exitValue(), out);
    } catch (IOException e) {
      return null;
    }
  }
}
