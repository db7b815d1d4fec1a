package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The build the scripts run when a jar is missing (bin/lib/java.sh, hw_ensure_built) shows no
 * terminal escape codes: Maven 3.8 on a JDK 25 writes ESC[0m even in batch mode. A stand-in {@code
 * mvn} on the PATH writes them as the real one does, so the test needs no real build.
 */
class BuildOutputTest {
  private static final Path JAVA_SH = Path.of("../bin/lib/java.sh").toAbsolutePath().normalize();

  @Test
  void aSuccessfulBuildSaysOneLineAndNoEscapeCodes(@TempDir Path dir) throws Exception {
    String out = withPath(dir, 0);
    assertThat(out).isEqualTo("handlewatch: building (mvn install, tests skipped) ...\n");
  }

  @Test
  void aFailedBuildShowsItsEndWithoutEscapeCodes(@TempDir Path dir) throws Exception {
    String out = withPath(dir, 1);
    assertThat(out)
        .contains("handlewatch: build failed")
        .contains("[ERROR] COMPILATION ERROR in Foo.java")
        .doesNotContain("\u001b");
  }

  /** Runs hw_ensure_built for a missing jar with the stand-in mvn first on the PATH. */
  private static String withPath(Path dir, int mvnExit) throws Exception {
    return buildWithPath(dir, mvnExit, dir.resolve("bin") + ":" + System.getenv("PATH"));
  }

  private static String buildWithPath(Path dir, int mvnExit, String path) throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path mvn = bin.resolve("mvn");
    Files.writeString(
        mvn,
        "#!/bin/sh\nprintf '\\033[0m\\033[0m[ERROR] COMPILATION ERROR in Foo.java\\n'\nexit "
            + mvnExit
            + "\n");
    Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
    ProcessBuilder pb =
        new ProcessBuilder(
                "bash",
                "-c",
                ". '"
                    + JAVA_SH
                    + "'; HW_JAVA_HOME=/nowhere; hw_ensure_built '"
                    + dir.resolve("missing.jar")
                    + "' agent")
            .redirectErrorStream(true);
    pb.environment().put("PATH", path);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isEqualTo(mvnExit == 0 ? 0 : 1);
    return out;
  }
}
