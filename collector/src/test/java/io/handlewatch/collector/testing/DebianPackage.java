package io.handlewatch.collector.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Finds the binary of a Debian package the tests run for real, installing the package when it is
 * missing and the tests run as root (bin/test installs it up front; this covers running one test
 * from an IDE or a bare {@code mvn verify}).
 */
final class DebianPackage {
  private DebianPackage() {}

  /** The first executable of {@code candidates}, after installing {@code pkg} if none is. */
  static String findOrInstall(String pkg, String... candidates)
      throws IOException, InterruptedException {
    for (String c : candidates) if (Files.isExecutable(Path.of(c))) return c;
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new IOException(
          pkg + " not found: install it (apt-get install -y " + pkg + "); bin/test does this");
    }
    for (String[] cmd :
        new String[][] {{"apt-get", "update", "-qq"}, {"apt-get", "install", "-y", "-qq", pkg}}) {
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      p.getOutputStream().close();
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0)
        throw new IOException("installing " + pkg + " failed: " + String.join(" ", cmd));
    }
    for (String c : candidates) if (Files.isExecutable(Path.of(c))) return c;
    throw new IOException(pkg + " installed but none of its binaries found");
  }
}
