package io.handlewatch.agent.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.handlewatch.agent.sample.SampleOptions;
import io.handlewatch.agent.sample.SampleText;
import io.handlewatch.agent.sample.Sampler;
import io.handlewatch.agent.source.NetlinkSocketTable;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.ProcNetTcpSocketTable;
import io.handlewatch.agent.source.SocketTable;
import io.handlewatch.proto.v1.HostSample;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code handlewatch-agent sample}: prints one sample of this host (or of a /proc tree). */
@Command(
    name = "sample",
    mixinStandardHelpOptions = true,
    description = {
      "Prints one sample of this host's TCP states, file handles, socket owners and sysctls, and exits.",
      "Run as root (or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH) to see every process's sockets."
    })
final class SampleCommand implements Callable<Integer> {
  /** Which TCP reader to use. */
  enum TcpReaderChoice {
    /** Netlink on a live /proc, falling back to /proc/net/tcp; /proc/net/tcp for a /proc tree. */
    auto,
    netlink,
    proc
  }

  @Spec CommandSpec spec;

  @Option(names = "--json", description = "Print the sample as protobuf JSON (HostSample).")
  boolean json;

  @Option(names = "--compact", description = "With --json: one line per sample.")
  boolean compact;

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
      names = "--full-rescan-every",
      defaultValue = "30",
      paramLabel = "N",
      description = "Re-read every process's fd links every N samples. Default: ${DEFAULT-VALUE}.")
  int fullRescanEvery;

  @Option(
      names = "--count",
      defaultValue = "1",
      paramLabel = "N",
      description =
          "Take N samples in one run (the first pays for the full fd walk). Default: ${DEFAULT-VALUE}.")
  int count;

  @Option(
      names = "--interval",
      defaultValue = "PT1S",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Pause between samples with --count, e.g. 2s, 500ms. Default: 1s.")
  Duration interval;

  @Override
  public Integer call() throws Exception {
    if (count < 1) {
      throw new ParameterException(spec.commandLine(), "--count must be at least 1, got " + count);
    }
    if (!Files.isDirectory(procRoot)) {
      throw new ParameterException(spec.commandLine(), "--proc-root: not a directory: " + procRoot);
    }
    SampleOptions options;
    try {
      Path machineId = procRoot.equals(Path.of("/proc")) ? Path.of("/etc/machine-id") : null;
      options =
          new SampleOptions(
              top, topEndpoints, tcpOnly, extraSysctls, fullRescanEvery, host, machineId);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    ProcFs fs = new ProcFs(procRoot);
    Sampler sampler;
    try {
      sampler = new Sampler(fs, socketTables(fs), options, Clock.systemUTC());
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    PrintWriter out = spec.commandLine().getOut();
    for (int i = 0; i < count; i++) {
      if (i > 0) {
        Thread.sleep(interval);
      }
      print(sampler.sample(), out);
      out.flush();
    }
    return 0;
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

  private void print(HostSample sample, PrintWriter out) throws InvalidProtocolBufferException {
    if (!json) {
      out.print(SampleText.render(sample));
      return;
    }
    JsonFormat.Printer printer = JsonFormat.printer();
    out.println(
        compact ? printer.omittingInsignificantWhitespace().print(sample) : printer.print(sample));
  }
}
