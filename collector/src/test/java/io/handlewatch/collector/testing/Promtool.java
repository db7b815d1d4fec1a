package io.handlewatch.collector.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Prometheus's own checker of the exposition format, {@code promtool check metrics} (Debian's
 * {@code prometheus} package): it parses a scrape and lints it (names, suffixes, help, units).
 */
public final class Promtool {
  private Promtool() {}

  /** What promtool said, and its exit code: 0 clean, 3 lint problems, 1 not parseable. */
  public record Verdict(int exitCode, String output) {}

  public static Verdict checkMetrics(String scrape) throws IOException, InterruptedException {
    String promtool = DebianPackage.findOrInstall("prometheus", "/usr/bin/promtool");
    Process p = new ProcessBuilder(promtool, "check", "metrics").redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      in.write(scrape.getBytes(StandardCharsets.UTF_8));
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("promtool check metrics did not finish within 60 s");
    }
    return new Verdict(p.exitValue(), out);
  }
}
