package io.handlewatch.agent.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A small tmpfs mounted on a directory of the test's own, to fill a disk for real: writes past its
 * size fail with ENOSPC. Mounting needs root; without it the test is skipped with that reason.
 * Unmounted by {@link #close()}.
 */
public final class Tmpfs implements AutoCloseable {
  private final Path dir;

  private Tmpfs(Path dir) {
    this.dir = dir;
  }

  /** Mounts a tmpfs of {@code size} (mount's syntax: 32k, 1m) on {@code dir}, creating it. */
  public static Tmpfs mount(Path dir, String size) throws IOException, InterruptedException {
    String uid = run(List.of("id", "-u")).strip();
    assumeTrue(
        uid.equals("0"),
        "mounting a tmpfs to fill a disk needs root (id -u is " + uid + "); CI runs as root");
    Files.createDirectories(dir);
    String out =
        run(List.of("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString()));
    assertThat(Files.getFileStore(dir).type()).as("mount said: %s", out).isEqualTo("tmpfs");
    return new Tmpfs(dir);
  }

  public Path dir() {
    return dir;
  }

  /** Grows (or shrinks) the mounted tmpfs in place, as an operator freeing space would. */
  public void resize(String size) throws IOException, InterruptedException {
    String out = run(List.of("mount", "-o", "remount,size=" + size, dir.toString()));
    assertThat(out).as("remount").isEmpty();
  }

  private static String run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("%s finished", cmd).isTrue();
    return out;
  }

  @Override
  public void close() throws IOException, InterruptedException {
    String out = run(List.of("umount", dir.toString()));
    if (Files.getFileStore(dir).type().equals("tmpfs")) {
      // Still busy (a process not yet gone): detach it so the temp dir can go.
      out += run(List.of("umount", "-l", dir.toString()));
    }
    assertThat(Files.getFileStore(dir).type()).as("umount said: %s", out).isNotEqualTo("tmpfs");
  }
}
