package io.handlewatch.agent.cli;

import io.handlewatch.agent.runtime.AgentRuntime;
import io.handlewatch.agent.sample.Sampler;
import io.handlewatch.agent.spool.FsyncPolicy;
import io.handlewatch.agent.spool.SpoolConfig;
import io.handlewatch.agent.transport.CollectorTargets;
import io.handlewatch.agent.transport.KeepAlive;
import io.handlewatch.agent.transport.LinkSecurity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code handlewatch-agent run}: samples this host on a schedule and streams to a collector. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Samples this host every --interval and streams the samples to a collector over gRPC.",
      "Options can also come from --config FILE: a properties file whose keys are the long option"
          + " names without dashes (collector=10.0.0.5:9400, interval=10s)."
    })
final class RunCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @ParentCommand AgentMain parent;

  @Mixin SamplingOptions sampling;

  @Mixin LinkSecurityOptions linkSecurity;

  @Option(
      names = "--collector",
      required = true,
      paramLabel = "HOST:PORT",
      description =
          "The collectors' ingest address: HOST:PORT (a load balancer, or a DNS name with an"
              + " address per collector), a comma-separated list HOST:PORT,HOST:PORT, or a gRPC"
              + " target such as dns:///collectors.example:9400. One stream goes to one collector,"
              + " picked at random; when it fails the agent moves to another and replays there.")
  String collector;

  @Mixin IntervalOption schedule;

  @Option(
      names = "--state-dir",
      paramLabel = "DIR",
      description =
          "Where the report sequence number (and by default the spool) is kept. Default:"
              + " /var/lib/handlewatch if writable, else $XDG_STATE_HOME/handlewatch or"
              + " ~/.local/state/handlewatch.")
  Path stateDir;

  @Option(
      names = "--spool-dir",
      paramLabel = "DIR",
      description =
          "Where reports wait on disk until the collector acknowledges them; they survive"
              + " restarts and crashes of the agent. Default: spool/ under --state-dir.")
  Path spoolDir;

  @Option(
      names = "--spool-max-bytes",
      defaultValue = "64MiB",
      converter = DataSizeConverter.class,
      paramLabel = "SIZE",
      description =
          "Bound of the spool on disk; when full the oldest reports go first and are counted"
              + " (health.dropped_reports). At least 64KiB. Default: ${DEFAULT-VALUE}.")
  long spoolMaxBytes;

  @Option(
      names = "--spool-fsync",
      defaultValue = "always",
      paramLabel = "always|interval|never",
      description =
          "When spooled reports are synced to disk: every report, once a second, or when the"
              + " kernel likes. All survive a crash of the agent; they differ on a power cut."
              + " Default: ${DEFAULT-VALUE}.")
  FsyncPolicy spoolFsync;

  @Option(
      names = "--queue-max-reports",
      defaultValue = "2000",
      paramLabel = "N",
      description =
          "Reports kept in memory while the spool directory cannot be written (disk full,"
              + " read-only); the oldest go first. Default: ${DEFAULT-VALUE}.")
  int queueMaxReports;

  @Option(
      names = "--queue-max-bytes",
      defaultValue = "8MiB",
      converter = DataSizeConverter.class,
      paramLabel = "SIZE",
      description =
          "Byte bound of that memory queue, e.g. 8MiB, 512KiB. Default: ${DEFAULT-VALUE}.")
  long queueMaxBytes;

  @Option(
      names = "--keepalive-time",
      defaultValue = "30s",
      converter = DurationConverter.class,
      paramLabel = "DURATION",
      description =
          "After this long without a byte from the collector the agent pings it (at least 10s;"
              + " the collector refuses pings more often than its ingest.permitKeepAliveTime)."
              + " Default: ${DEFAULT-VALUE}.")
  Duration keepAliveTime;

  @Option(
      names = "--keepalive-timeout",
      defaultValue = "10s",
      converter = DurationConverter.class,
      paramLabel = "DURATION",
      description =
          "A ping unanswered this long ends the connection; the agent reconnects and replays"
              + " from its spool. Default: ${DEFAULT-VALUE}.")
  Duration keepAliveTimeout;

  @Option(
      names = "--metrics-address",
      paramLabel = "HOST:PORT",
      description =
          "Serve the agent's own health for Prometheus at http://HOST:PORT/metrics: sample cost"
              + " per source, spool depth and bytes, dropped reports, last ack, reconnects, RSS."
              + " Off unless given; a loopback HOST (127.0.0.1:9401) keeps it on this host.")
  String metricsAddress;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Properties file with option values (see above); flags override it.")
  Path config;

  @Override
  public Integer call() throws Exception {
    Duration interval = schedule.atLeast(IntervalOption.MIN_REPEATING);
    if (queueMaxReports < 1) {
      throw new ParameterException(spec.commandLine(), "--queue-max-reports must be at least 1");
    }
    if (spoolMaxBytes < SpoolConfig.MIN_BYTES) {
      throw new ParameterException(
          spec.commandLine(),
          "--spool-max-bytes must be at least 64KiB, got " + spoolMaxBytes + " bytes");
    }
    CollectorTargets targets;
    try {
      targets = CollectorTargets.parse(collector);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--collector: " + e.getMessage());
    }
    InetSocketAddress metricsAt = metricsAddress == null ? null : metricsAddress(metricsAddress);
    Sampler sampler = sampling.sampler(spec);
    sampler.logTcpTables();
    KeepAlive keepAlive;
    try {
      keepAlive = new KeepAlive(keepAliveTime, keepAliveTimeout);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          spec.commandLine(), "--keepalive-time/--keepalive-timeout: " + e.getMessage());
    }
    LinkSecurity security = linkSecurity.security(spec, targets);
    Path state = stateDir == null ? defaultStateDir() : stateDir;
    SpoolConfig spool =
        SpoolConfig.of(
            spoolDir == null ? state.resolve("spool") : spoolDir,
            spoolMaxBytes,
            spoolFsync,
            queueMaxReports,
            queueMaxBytes);
    AgentRuntime agent =
        new AgentRuntime(
            new AgentRuntime.Settings(
                collector,
                targets,
                keepAlive,
                security,
                state,
                spool,
                interval,
                metricsAt,
                sampling.procRoot,
                sampling.host),
            sampler);
    // Through the runtime, not a lambda of this class: the launcher's class loader of this class
    // must be free to go once the daemon runs (io.handlewatch.agent.launch.Main).
    agent.stopOnShutdown();
    try {
      if (parent != null && parent.daemon != null) {
        parent.daemon.accept(agent); // starts it, see AgentMain.daemon
      } else {
        agent.runOnThisThread();
      }
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    } catch (IOException | UncheckedIOException e) {
      String why = e instanceof UncheckedIOException u ? u.getCause().getMessage() : e.getMessage();
      throw new ParameterException(
          spec.commandLine(), "--metrics-address " + metricsAddress + ": cannot listen: " + why, e);
    }
    return 0;
  }

  /** HOST:PORT ([v6]:PORT) of --metrics-address, refused naming the option when malformed. */
  private InetSocketAddress metricsAddress(String value) {
    int colon = value.lastIndexOf(':');
    String host = colon <= 0 ? "" : value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
    int port = -1;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException notANumber) {
      // refused below
    }
    if (host.isEmpty() || port < 0 || port > 65535) {
      throw new ParameterException(
          spec.commandLine(),
          "--metrics-address must be HOST:PORT, e.g. 127.0.0.1:9401, got '" + value + "'");
    }
    return new InetSocketAddress(host, port);
  }

  static Path defaultStateDir() {
    Path system = Path.of("/var/lib/handlewatch");
    if (Files.isDirectory(system)
        ? Files.isWritable(system)
        : Files.isWritable(system.getParent())) {
      return system;
    }
    String xdg = System.getenv("XDG_STATE_HOME");
    if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "handlewatch");
    return Path.of(System.getProperty("user.home"), ".local", "state", "handlewatch");
  }
}
