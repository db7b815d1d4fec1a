package io.handlewatch.agent.cli;

import io.handlewatch.agent.sample.CommandLines;
import io.handlewatch.agent.sample.SampleOptions;
import io.handlewatch.agent.sample.Sampler;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcNetTcpSocketTable;
import io.handlewatch.agent.source.SocketTable;
import io.handlewatch.agent.source.natives.NetlinkSocketTable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** What to sample and where from: the options {@code sample} and {@code run} share. */
final class SamplingOptions {
  /** Which TCP reader to use. */
  enum TcpReaderChoice {
    /** Netlink on a live /proc, falling back to /proc/net/tcp; /proc/net/tcp for a /proc tree. */
    auto,
    netlink,
    proc
  }

  @Option(
      names = "--proc-root",
      paramLabel = "DIR",
      defaultValue = "/proc",
      description =
          "Where procfs is mounted (/host/proc in a container). Default: ${DEFAULT-VALUE}.")
  Path procRoot;

  @Option(
      names = "--tcp-reader",
      defaultValue = "auto",
      description = "TCP socket reader: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.")
  TcpReaderChoice tcpReader;

  @Option(
      names = "--top",
      defaultValue = "10",
      description =
          "Processes per ranking (by fd usage, by CLOSE_WAIT). Default: ${DEFAULT-VALUE}.")
  int top;

  @Option(
      names = "--top-endpoints",
      defaultValue = "10",
      description = "Remote endpoints per list. Default: ${DEFAULT-VALUE}.")
  int topEndpoints;

  @Option(
      names = "--top-listeners",
      defaultValue = "32",
      paramLabel = "N",
      description =
          "Listening sockets to report, fullest accept queue first (all are counted)."
              + " Default: ${DEFAULT-VALUE}.")
  int topListeners;

  @Option(
      names = "--tcp-only",
      description = "Count TCP states only: no processes, sysctls, sockstat or file handles.")
  boolean tcpOnly;

  @Option(
      names = "--sysctl",
      paramLabel = "NAME",
      description = "Another sysctl to read (repeatable), e.g. net.ipv4.tcp_rmem.")
  List<String> extraSysctls = new ArrayList<>();

  @Option(
      names = "--host",
      paramLabel = "NAME",
      description = "Host name to report instead of the kernel's.")
  String host;

  @Option(
      names = "--cmdline",
      defaultValue = "argv0",
      paramLabel = "full|argv0|none",
      description =
          "How much of a reported process's command line to include: every argument (up to 200"
              + " characters), the program only, or nothing. Arguments can hold secrets, and the"
              + " collector stores and shows what it gets. Default: ${DEFAULT-VALUE}.")
  CommandLines commandLines;

  @Option(
      names = "--full-rescan-every",
      defaultValue = "30",
      paramLabel = "N",
      description = "Re-read every process's fd links every N samples. Default: ${DEFAULT-VALUE}.")
  int fullRescanEvery;

  @Option(
      names = "--label",
      paramLabel = "KEY=VALUE",
      split = ",",
      description =
          "A host label sent with every report, stored as a tag and put on every page (repeatable,"
              + " or comma-separated; in the config file: label=env=prod,cluster=eu-1). For the"
              + " few slow-changing facts pages are routed by: env, cluster, role.")
  java.util.Map<String, String> labels = new java.util.LinkedHashMap<>();

  @Option(
      names = "--namespaces",
      defaultValue = "all",
      paramLabel = "all|own",
      description =
          "Count the sockets of every network namespace of the host (containers, pods, ip netns),"
              + " or of the agent's own only. Default: ${DEFAULT-VALUE}.")
  String namespaces;

  @Option(
      names = "--host-root",
      paramLabel = "DIR",
      defaultValue = "/",
      description =
          "Where the host's files are seen: run/netns, the container runtimes' state"
              + " (run/containerd, run/containers/storage, var/lib/docker/containers) and the"
              + " kubelet's var/lib/kubelet/pods are read under it. Default: ${DEFAULT-VALUE}.")
  Path hostRoot;

  /** Label names the collector and Alertmanager use themselves, so a host label may not. */
  static final java.util.Set<String> RESERVED_LABELS =
      java.util.Set.of(
          "host",
          "alertname",
          "severity",
          "kind",
          "subject",
          "namespace",
          "pod",
          "container",
          "unit",
          "pid",
          "comm",
          "remote",
          "name");

  static final int MAX_LABELS = 16;

  /** The labels, checked; the message names what is wrong. */
  static java.util.Map<String, String> checkLabels(java.util.Map<String, String> labels) {
    if (labels.size() > MAX_LABELS) {
      throw new IllegalArgumentException(
          "--label: at most " + MAX_LABELS + " labels, got " + labels.size());
    }
    for (var e : labels.entrySet()) {
      String k = e.getKey();
      if (!k.matches("[a-zA-Z_][a-zA-Z0-9_]{0,62}")) {
        throw new IllegalArgumentException(
            "--label " + k + ": a label name is a letter or _ then letters, digits or _");
      }
      if (RESERVED_LABELS.contains(k) || k.startsWith("__")) {
        throw new IllegalArgumentException(
            "--label " + k + ": reserved (the collector sets it itself)");
      }
      String v = e.getValue();
      if (v == null || v.isBlank() || v.length() > 128 || v.chars().anyMatch(c -> c < 0x20)) {
        throw new IllegalArgumentException(
            "--label " + k + ": the value must be 1 to 128 printable characters");
      }
    }
    return labels;
  }

  /** A sampler for these options; a bad option is reported by name. */
  Sampler sampler(CommandSpec spec) {
    if (!Files.isDirectory(procRoot)) {
      throw new ParameterException(spec.commandLine(), "--proc-root: not a directory: " + procRoot);
    }
    SampleOptions options;
    try {
      Path machineId = procRoot.equals(Path.of("/proc")) ? Path.of("/etc/machine-id") : null;
      options =
          new SampleOptions(
              top,
              topEndpoints,
              tcpOnly,
              extraSysctls,
              fullRescanEvery,
              host,
              machineId,
              commandLines,
              namespacesFlag(),
              hostRoot,
              checkLabels(labels),
              topListeners);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    ProcFs fs = new ProcFs(procRoot);
    try {
      return new Sampler(fs, socketTables(fs), options, Clock.systemUTC());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private boolean namespacesFlag() {
    return switch (namespaces) {
      case "all" -> true;
      case "own" -> false;
      default ->
          throw new IllegalArgumentException("--namespaces: all or own, got '" + namespaces + "'");
    };
  }

  private List<SocketTable> socketTables(ProcFs fs) {
    SocketTable proc = new ProcNetTcpSocketTable(fs.root());
    return switch (tcpReader) {
      case netlink -> List.of(new NetlinkSocketTable());
      case proc -> List.of(proc);
      // Netlink answers for the agent's own network namespace, so it only describes the
      // procfs being read when that procfs is a live mount, not a copied tree.
      case auto -> fs.isProcfs() ? List.of(new NetlinkSocketTable(), proc) : List.of(proc);
    };
  }
}
