package io.handlewatch.collector.testing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Installs Debian packages a test needs when it runs as root (CI, fresh machines); otherwise says
 * which to install. bin/test installs the same ones before the build.
 */
public final class DebianPackages {
  private DebianPackages() {}

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
