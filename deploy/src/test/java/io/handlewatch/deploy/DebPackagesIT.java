package io.handlewatch.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The .deb packages the build makes (deploy/pom.xml: jdeb), installed on this machine as an
 * operator would: dpkg -i, the installed programs run (--version, the agent's sample, the
 * collector's check), then dpkg -r (configuration and state stay) and --purge (nothing stays but
 * the handlewatch system user, which Debian policy keeps). Needs root, as dpkg does.
 */
class DebPackagesIT {
  private static final List<String> PACKAGES =
      List.of("handlewatch-agent", "handlewatch-collector");
  private static final Path TARGET = DeployFiles.DEPLOY.resolve("target");

  /** Where a package could leave something behind. */
  private static final List<String> ROOTS =
      List.of(
          "/etc",
          "/opt",
          "/usr/bin",
          "/usr/lib/systemd",
          "/usr/lib/sysusers.d",
          "/usr/lib/tmpfiles.d",
          "/var/lib",
          "/var/cache",
          "/var/log");

  @Test
  void installRunRemovePurge() throws Exception {
    assertThat(System.getProperty("user.name")).as("dpkg needs root").isEqualTo("root");
    Path agentDeb = deb("handlewatch-agent_");
    Path collectorDeb = deb("handlewatch-collector_");
    String version = VersionsTest.pomVersion();

    // The packages as built: one version, conffiles under /etc, the jlink runtime inside.
    assertThat(run("dpkg-deb", "--field", agentDeb.toString(), "Version").strip())
        .isEqualTo(VersionsTest.debianVersion());
    assertThat(run("dpkg-deb", "--field", collectorDeb.toString(), "Version").strip())
        .isEqualTo(VersionsTest.debianVersion());
    assertThat(run("dpkg-deb", "--info", agentDeb.toString(), "conffiles").lines().toList())
        .containsExactlyInAnyOrder(
            "/etc/handlewatch/agent.properties", "/etc/default/handlewatch-agent");
    assertThat(run("dpkg-deb", "--info", collectorDeb.toString(), "conffiles").lines().toList())
        .containsExactlyInAnyOrder(
            "/etc/handlewatch/collector.yml", "/etc/default/handlewatch-collector");
    assertThat(run("dpkg-deb", "--contents", agentDeb.toString()))
        .containsPattern("-rwxr-xr-x root/root .* \\./opt/handlewatch-agent/runtime/bin/java\\n")
        .containsPattern("\\./usr/lib/systemd/system/handlewatch-agent\\.service\\n")
        .containsPattern("\\./usr/lib/sysusers\\.d/handlewatch-agent\\.conf\\n")
        .containsPattern("\\./usr/lib/tmpfiles\\.d/handlewatch-agent\\.conf\\n");

    // Other worktrees on this machine may run this test too: one dpkg user at a time.
    try (FileChannel lockFile =
            FileChannel.open(
                Path.of("/tmp/handlewatch-deb-packages-it.lock"),
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock lock = lockFile.lock()) {
      dpkg("--purge", PACKAGES.get(0), PACKAGES.get(1)); // a run that died half-way
      Set<String> before = leftovers();
      try {
        dpkg("-i", agentDeb.toString(), collectorDeb.toString());
        for (String p : PACKAGES) {
          assertThat(run("dpkg-query", "-W", "-f=${Status} ${Version}", p))
              .isEqualTo("install ok installed " + VersionsTest.debianVersion());
        }

        // The installed programs, through /usr/bin.
        assertThat(run("/usr/bin/handlewatch-agent", "--version").strip())
            .matches(
                "handlewatch-agent " + Pattern.quote(version) + " \\(commit [0-9a-f]+(-dirty)?\\)");
        assertThat(run("/usr/bin/handlewatch-collector", "--version").strip())
            .matches(
                "handlewatch-collector "
                    + Pattern.quote(version)
                    + " \\(commit [0-9a-f]+(-dirty)?\\)");
        JsonNode sample =
            new ObjectMapper().readTree(run("/usr/bin/handlewatch-agent", "sample", "--json"));
        assertThat(sample.at("/host/agentVersion").asText()).isEqualTo(version);
        assertThat(sample.at("/tcp/total/listen").asLong()).as("sockets counted").isPositive();
        Result check =
            exec(
                List.of(
                    "/usr/bin/handlewatch-collector", "check", "/etc/handlewatch/collector.yml"));
        assertThat(check.code()).as(check.out()).isZero();
        assertThat(check.out()).contains("Configuration is OK");

        // What the maintainer scripts made: the user (sysusers.d) and the agent's state
        // directory (tmpfiles.d), private to that user.
        assertThat(run("getent", "passwd", "handlewatch")).contains("/usr/sbin/nologin");
        Path state = Path.of("/var/lib/handlewatch-agent");
        assertThat(Files.getOwner(state).getName()).isEqualTo("handlewatch");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state)))
            .isEqualTo("rwx------");
        Files.writeString(state.resolve("seq"), "42\n");

        // An edited conffile survives dpkg -r, and so does the agent's state.
        Path properties = Path.of("/etc/handlewatch/agent.properties");
        Files.writeString(properties, "# edited by DebPackagesIT\n", StandardOpenOption.APPEND);
        dpkg("-r", PACKAGES.get(0), PACKAGES.get(1));
        for (String p : PACKAGES) {
          assertThat(run("dpkg-query", "-W", "-f=${Status}", p))
              .isEqualTo("deinstall ok config-files");
        }
        assertThat(Path.of("/opt/handlewatch-agent")).doesNotExist();
        assertThat(Path.of("/opt/handlewatch-collector")).doesNotExist();
        assertThat(Path.of("/usr/bin/handlewatch-agent")).doesNotExist();
        assertThat(Path.of("/usr/lib/systemd/system/handlewatch-agent.service")).doesNotExist();
        assertThat(Files.readString(properties)).endsWith("# edited by DebPackagesIT\n");
        assertThat(Path.of("/etc/handlewatch/collector.yml")).exists();
        assertThat(state.resolve("seq")).exists();

        // Purged: nothing left but the system user, which policy keeps (files may still be
        // owned by it elsewhere).
        dpkg("--purge", PACKAGES.get(0), PACKAGES.get(1));
        for (String p : PACKAGES) {
          assertThat(dpkgQuery(p)).as(p + " unknown to dpkg").doesNotContain("config-files");
        }
        assertThat(leftovers()).as("files left after --purge").isEqualTo(before);
        assertThat(run("getent", "passwd", "handlewatch")).as("the user stays").isNotBlank();
      } finally {
        dpkg("--purge", PACKAGES.get(0), PACKAGES.get(1));
      }
    }
  }

  /** The package in deploy/target whose name starts with {@code prefix}. */
  private static Path deb(String prefix) throws IOException {
    try (Stream<Path> s = Files.list(TARGET)) {
      List<Path> debs =
          s.filter(p -> p.getFileName().toString().startsWith(prefix))
              .filter(p -> p.toString().endsWith(".deb"))
              .toList();
      assertThat(debs).as("%s*.deb in %s (mvn package builds it)", prefix, TARGET).hasSize(1);
      return debs.getFirst();
    }
  }

  /** Every path under {@link #ROOTS} with "handlewatch" in its name. */
  private static Set<String> leftovers() throws IOException {
    Set<String> found = new TreeSet<>();
    for (String r : ROOTS) {
      Path root = Path.of(r);
      if (!Files.isDirectory(root)) continue;
      try (Stream<Path> s = Files.walk(root)) {
        s.filter(p -> p.getFileName() != null && p.getFileName().toString().contains("handlewatch"))
            .forEach(p -> found.add(p.toString()));
      } catch (java.io.UncheckedIOException e) {
        // A directory vanishing under the walk (another program's temporary files) is not ours.
        if (!(e.getCause() instanceof java.nio.file.NoSuchFileException)) throw e;
      }
    }
    return found;
  }

  private static String dpkgQuery(String pkg) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder("dpkg-query", "-W", "-f=${Status}", pkg)
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
    return out;
  }

  /** dpkg with ARGS, waiting (up to two minutes) while another dpkg or apt holds its lock. */
  private static void dpkg(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("dpkg"));
    cmd.addAll(List.of(args));
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (true) {
      Result r = exec(cmd);
      if (r.code() == 0) return;
      boolean locked = r.out().contains("lock");
      assertThat(locked && System.nanoTime() < deadline)
          .as("%s exited %d:%n%s", cmd, r.code(), r.out())
          .isTrue();
      Thread.sleep(1000); // dpkg has no wait-for-lock option; apt-get's is not dpkg -i
    }
  }

  /** Runs a command to its end; it must exit 0. Its stdout. */
  private static String run(String... cmd) throws IOException, InterruptedException {
    Result r = exec(List.of(cmd));
    assertThat(r.code()).as("%s exited %d:%n%s", List.of(cmd), r.code(), r.out()).isZero();
    return r.stdout();
  }

  private record Result(int code, String stdout, String out) {}

  private static Result exec(List<String> cmd) throws IOException, InterruptedException {
    Path err = Files.createTempFile("deb-it", ".err");
    try {
      Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(3, TimeUnit.MINUTES)) {
        p.destroyForcibly().waitFor();
        throw new AssertionError(cmd + " did not end within 3 minutes");
      }
      return new Result(p.exitValue(), out, out + Files.readString(err));
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
