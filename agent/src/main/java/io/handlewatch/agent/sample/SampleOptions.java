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
 * @param namespaces count every network namespace of the host, not only the agent's own
 * @param hostRoot where the host's file system is seen ({@code /} normally): {@code run/netns}, the
 *     container runtimes' state directories and the kubelet's pod directory are under it
 * @param labels the operator's host labels (env, cluster, role...), sent with every report
 * @param topListeners how many listening sockets to send, fullest accept queue first
 */
public record SampleOptions(
    int topProcesses,
    int topEndpoints,
    boolean tcpOnly,
    List<String> extraSysctls,
    int fullRescanEvery,
    String hostname,
    Path machineIdFile,
    CommandLines commandLines,
    boolean namespaces,
    Path hostRoot,
    java.util.Map<String, String> labels,
    int topListeners) {

  /** Listeners sent by default: enough for every service of a busy host, bounded for the rest. */
  public static final int DEFAULT_TOP_LISTENERS = 32;

  /** Options as before listener queues: {@link #DEFAULT_TOP_LISTENERS} listeners. */
  public SampleOptions(
      int topProcesses,
      int topEndpoints,
      boolean tcpOnly,
      List<String> extraSysctls,
      int fullRescanEvery,
      String hostname,
      Path machineIdFile,
      CommandLines commandLines,
      boolean namespaces,
      Path hostRoot,
      java.util.Map<String, String> labels) {
    this(
        topProcesses,
        topEndpoints,
        tcpOnly,
        extraSysctls,
        fullRescanEvery,
        hostname,
        machineIdFile,
        commandLines,
        namespaces,
        hostRoot,
        labels,
        DEFAULT_TOP_LISTENERS);
  }

  /** Options as before namespaces and labels: every namespace, host root {@code /}, no labels. */
  public SampleOptions(
      int topProcesses,
      int topEndpoints,
      boolean tcpOnly,
      List<String> extraSysctls,
      int fullRescanEvery,
      String hostname,
      Path machineIdFile,
      CommandLines commandLines) {
    this(
        topProcesses,
        topEndpoints,
        tcpOnly,
        extraSysctls,
        fullRescanEvery,
        hostname,
        machineIdFile,
        commandLines,
        true,
        Path.of("/"),
        java.util.Map.of());
  }

  public SampleOptions {
    if (topProcesses < 1) {
      throw new IllegalArgumentException("top processes must be at least 1, got " + topProcesses);
    }
    if (topEndpoints < 1) {
      throw new IllegalArgumentException("top endpoints must be at least 1, got " + topEndpoints);
    }
    if (topListeners < 1) {
      throw new IllegalArgumentException("top listeners must be at least 1, got " + topListeners);
    }
    if (fullRescanEvery < 1) {
      throw new IllegalArgumentException(
          "full rescan interval must be at least 1, got " + fullRescanEvery);
    }
    extraSysctls = List.copyOf(extraSysctls);
    Objects.requireNonNull(commandLines, "commandLines");
    Objects.requireNonNull(hostRoot, "hostRoot");
    labels = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(labels));
  }

  /** {@code ip netns} keeps named namespaces here. */
  public Path netnsDir() {
    return hostRoot.resolve("run/netns");
  }

  /** These options with other host labels. */
  public SampleOptions withLabels(java.util.Map<String, String> newLabels) {
    return new SampleOptions(
        topProcesses,
        topEndpoints,
        tcpOnly,
        extraSysctls,
        fullRescanEvery,
        hostname,
        machineIdFile,
        commandLines,
        namespaces,
        hostRoot,
        newLabels,
        topListeners);
  }

  /** These options with namespaces on or off and another host root. */
  public SampleOptions withNamespaces(boolean all, Path root) {
    return new SampleOptions(
        topProcesses,
        topEndpoints,
        tcpOnly,
        extraSysctls,
        fullRescanEvery,
        hostname,
        machineIdFile,
        commandLines,
        all,
        root,
        labels,
        topListeners);
  }

  /**
   * Defaults of the library (the command line's differ in one: it sends argv[0] only): top 10
   * processes, top 10 endpoints, everything, full fd rescan every 30 samples, whole command lines.
   */
  public static SampleOptions defaults() {
    return new SampleOptions(10, 10, false, List.of(), 30, null, null, CommandLines.FULL);
  }
}
