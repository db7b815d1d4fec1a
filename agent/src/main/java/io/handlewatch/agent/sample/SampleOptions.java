package io.handlewatch.agent.sample;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What a sample includes and how it is taken.
 *
 * @param topProcesses how many processes to report by fd usage ratio, and again by CLOSE_WAIT
 * @param topEndpoints how many remote endpoints per list (port pressure, CLOSE_WAIT peers)
 * @param tcpOnly take TCP state counts only (no processes, sysctls, sockstat or file handles)
 * @param extraSysctls sysctls to read besides {@code SysctlSource.DEFAULT_NAMES}
 * @param fullRescanEvery read every process's fd links every this many samples
 * @param hostname host name to report instead of the kernel's, or null
 * @param machineIdFile where the machine id is, or null to report none
 * @param commandLines how much of each reported process's command line to include
 */
public record SampleOptions(
    int topProcesses,
    int topEndpoints,
    boolean tcpOnly,
    List<String> extraSysctls,
    int fullRescanEvery,
    String hostname,
    Path machineIdFile,
    CommandLines commandLines) {

  public SampleOptions {
    if (topProcesses < 1) {
      throw new IllegalArgumentException("top processes must be at least 1, got " + topProcesses);
    }
    if (topEndpoints < 1) {
      throw new IllegalArgumentException("top endpoints must be at least 1, got " + topEndpoints);
    }
    if (fullRescanEvery < 1) {
      throw new IllegalArgumentException(
          "full rescan interval must be at least 1, got " + fullRescanEvery);
    }
    extraSysctls = List.copyOf(extraSysctls);
    Objects.requireNonNull(commandLines, "commandLines");
  }

  /**
   * Defaults of the library (the command line's differ in one: it sends argv[0] only): top 10
   * processes, top 10 endpoints, everything, full fd rescan every 30 samples, whole command lines.
   */
  public static SampleOptions defaults() {
    return new SampleOptions(10, 10, false, List.of(), 30, null, null, CommandLines.FULL);
  }
}
