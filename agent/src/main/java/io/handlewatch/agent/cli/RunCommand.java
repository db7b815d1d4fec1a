package io.handlewatch.agent.cli;

import io.grpc.ManagedChannel;
import io.handlewatch.agent.metrics.AgentMetrics;
import io.handlewatch.agent.sample.Sampler;
import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.spool.DiskSpool;
import io.handlewatch.agent.spool.FsyncPolicy;
import io.handlewatch.agent.spool.ReportQueue;
import io.handlewatch.agent.spool.SpoolConfig;
import io.handlewatch.agent.transport.CollectorChannels;
import io.handlewatch.agent.transport.CollectorLink;
import io.handlewatch.agent.transport.CollectorTargets;
import io.handlewatch.agent.transport.KeepAlive;
import io.handlewatch.agent.transport.LinkSecurity;
import io.handlewatch.agent.transport.SendStamp;
import io.handlewatch.agent.transport.SequenceFile;
import io.handlewatch.agent.transport.SysctlCadence;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
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
  private static final System.Logger log = System.getLogger(RunCommand.class.getName());

  @Spec CommandSpec spec;

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

  /**
   * This boot's id, which tells the sender whether a spooled sample's monotonic time still holds.
   */
  private static String bootId(Path procRoot) {
    try {
      String id = new ProcFs(procRoot).readSmall("sys/kernel/random/boot_id").strip();
      return id.isEmpty() ? null : id;
    } catch (java.io.IOException e) {
      log.log(
          Level.WARNING,
          "cannot read {0}/sys/kernel/random/boot_id ({1}): sample ages are told by the wall"
              + " clock only",
          procRoot,
          e.toString());
      return null;
    }
  }

  private final AtomicLong samplesFailed = new AtomicLong();
  private final AtomicLong ticksSkipped = new AtomicLong();

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
    Path state = stateDir == null ? defaultStateDir() : stateDir;
    SequenceFile seq = new SequenceFile(state);
    DiskSpool queue =
        DiskSpool.open(
            SpoolConfig.of(
                spoolDir == null ? state.resolve("spool") : spoolDir,
                spoolMaxBytes,
                spoolFsync,
                queueMaxReports,
                queueMaxBytes));
    if (!queue.onDisk()) {
      log.log(
          Level.ERROR,
          "--spool-dir {0} cannot be used (see above): reports are kept in memory only"
              + " (--queue-max-reports, --queue-max-bytes) until it can",
          spoolDir == null ? state.resolve("spool") : spoolDir);
    }
    // Numbering continues above every report the spool holds, whatever the seq file says.
    seq.skipPast(queue.lastSeq());

    KeepAlive keepAlive;
    try {
      keepAlive = new KeepAlive(keepAliveTime, keepAliveTimeout);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          spec.commandLine(), "--keepalive-time/--keepalive-timeout: " + e.getMessage());
    }
    LinkSecurity security = linkSecurity.security(spec, targets);
    ScheduledExecutorService linkExec = daemonScheduler("handlewatch-link");
    ManagedChannel channel;
    try {
      channel = CollectorChannels.open(targets, security, linkExec, keepAlive);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    ScheduledExecutorService sampleExec = daemonScheduler("handlewatch-sampler");
    CollectorLink link =
        new CollectorLink(
            collector,
            channel,
            queue,
            new SysctlCadence(Clock.systemUTC(), Duration.ofHours(1)),
            CollectorLink.defaultBackoff(),
            linkExec,
            Duration.ofSeconds(30),
            SendStamp.system(bootId(sampling.procRoot)));

    AgentMetrics metrics =
        metricsAt == null
            ? null
            : new AgentMetrics(queue, link, samplesFailed::get, ticksSkipped::get);
    if (metrics != null) {
      try {
        int port = metrics.serve(metricsAt);
        log.log(
            Level.INFO,
            "metrics for Prometheus at http://{0}:{1}/metrics",
            metricsAt.getHostString(),
            Integer.toString(port));
      } catch (java.io.IOException e) {
        throw new ParameterException(
            spec.commandLine(),
            "--metrics-address " + metricsAddress + ": cannot listen: " + e.getMessage(),
            e);
      }
    }
    this.metrics = metrics;

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            Thread.ofPlatform()
                .unstarted(
                    () -> {
                      // A sample under way finishes and is spooled before the stop line counts
                      // what is left: else its seq is reported but the report lost.
                      sampleExec.shutdown();
                      try {
                        if (!sampleExec.awaitTermination(3, TimeUnit.SECONDS)) {
                          sampleExec.shutdownNow();
                        }
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                      while (queue.size() > 0
                          && link.isConnected()
                          && System.nanoTime() < deadline) {
                        Thread.onSpinWait();
                        try {
                          Thread.sleep(20); // a bounded grace for in-flight acks, not a sync
                        } catch (InterruptedException e) {
                          Thread.currentThread().interrupt();
                          break;
                        }
                      }
                      link.close();
                      channel.shutdown();
                      log.log(
                          Level.INFO,
                          "stopping: last report seq {0}, {1} reports unacknowledged (kept in"
                              + " the spool), {2} dropped, {3} samples failed",
                          Long.toString(seq.last()),
                          queue.size(),
                          queue.dropped(),
                          samplesFailed.get());
                      queue.close();
                      if (metrics != null) metrics.close();
                      stopped.countDown();
                    }));

    link.start();
    if (spoolFsync == FsyncPolicy.INTERVAL) {
      sampleExec.scheduleWithFixedDelay(queue::flush, 1, 1, TimeUnit.SECONDS);
    }
    long intervalMs = interval.toMillis();
    long firstDelay = ThreadLocalRandom.current().nextLong(intervalMs);
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(firstDelay);
    log.log(
        Level.INFO,
        "agent {4} for {0} streaming to {1} every {2} ms (first sample in {3} ms)",
        sampling.host == null ? "this host" : sampling.host,
        collector,
        Long.toString(intervalMs),
        firstDelay,
        io.handlewatch.agent.sample.AgentBuild.current().describe());
    AtomicLong tick = new AtomicLong();
    sampleExec.scheduleAtFixedRate(
        () -> {
          long due = start + TimeUnit.MILLISECONDS.toNanos(intervalMs * tick.getAndIncrement());
          long late = System.nanoTime() - due;
          if (late > TimeUnit.MILLISECONDS.toNanos(intervalMs)) {
            // The previous sample overran: skip this tick rather than sample twice in a row.
            long n = ticksSkipped.incrementAndGet();
            log.log(Level.WARNING, "sample skipped: the previous one ran late ({0} skipped)", n);
            return;
          }
          sampleOnce(sampler, seq, queue, link);
        },
        firstDelay,
        intervalMs,
        TimeUnit.MILLISECONDS);
    stopped.await();
    return 0;
  }

  private void sampleOnce(
      Sampler sampler, SequenceFile seq, ReportQueue queue, CollectorLink link) {
    try {
      HostSample s = sampler.sample();
      s =
          s.toBuilder()
              .setHealth(s.getHealth().toBuilder().setDroppedReports(queue.dropped()))
              .build();
      queue.append(HostReport.newBuilder().setSeq(seq.next()).setSample(s).build());
      link.wake();
      if (metrics != null) metrics.sampled(s.getHealth());
      NativeHeap.trim();
    } catch (RuntimeException e) {
      long n = samplesFailed.incrementAndGet();
      log.log(Level.ERROR, "sample failed ({0} so far), the agent keeps running: " + e, n);
    }
  }

  private AgentMetrics metrics;

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

  private static ScheduledExecutorService daemonScheduler(String name) {
    return Executors.newSingleThreadScheduledExecutor(
        r -> Thread.ofPlatform().name(name).daemon(true).unstarted(r));
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
