package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.ProcFs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalLong;

/** The agent's own resident set size, from {@code /proc/self/status} of the live host. */
final class SelfStatus {
  private SelfStatus() {}

  static OptionalLong rssBytes() {
    try {
      String status = ProcFs.readCapped(Path.of("/proc/self/status"), 64 * 1024);
      for (String line : status.split("\n")) {
        if (line.startsWith("VmRSS:")) {
          String[] f = line.substring(6).strip().split("\\s+");
          return OptionalLong.of(Long.parseLong(f[0]) * 1024);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Absent is the honest answer: the sample says nothing about RSS rather than a wrong 0.
      return OptionalLong.empty();
    }
    return OptionalLong.empty();
  }
}
