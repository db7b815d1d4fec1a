package io.handlewatch.collector.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Finds the binary of a Debian package the tests run for real, installing the package when it is
 * missing and the tests run as root (bin/test installs it up front; this covers running one test
 * from an IDE or a bare {@code mvn verify}).
 */
public final class DebianPackage {
  private DebianPackage() {}

  /** The first executable of {@code candidates}, after installing {@code pkg} if none is. */
  public static String findOrInstall(String pkg, String... candidates)
      throws IOException, InterruptedException {
    for (String c : candidates) if (Files.isExecutable(Path.of(c))) return c;
    install(pkg, pkg);
    for (String c : candidates) if (Files.isExecutable(Path.of(c))) return c;
    throw new IOException(pkg + " installed but none of its binaries found");
  }

  /** Installs {@code packages} as root, or says which to install; {@code what} names the need. */
  public static void install(String what, String... packages)
      throws IOException, InterruptedException {
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new IOException(
          what
              + " not found: apt-get install -y "
              + String.join(" ", packages)
              + " (bin/test does this)");
    }
    List<String> install = new ArrayList<>(List.of("apt-get", "install", "-y", "-qq"));
    install.addAll(List.of(packages));
    for (List<String> cmd : List.of(List.of("apt-get", "update", "-qq"), install)) {
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      p.getOutputStream().close();
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IOException("installing " + what + " failed: " + String.join(" ", cmd));
      }
    }
  }
}
