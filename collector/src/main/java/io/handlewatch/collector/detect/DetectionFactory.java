package io.handlewatch.collector.detect;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import io.dropwizard.validation.ValidationMethod;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code detection:} section of the configuration: the window, the thresholds of each verdict,
 * and how alerts resolve. Every key has a default; collector/config/quickstart.yml documents them.
 */
public class DetectionFactory {

  /** How far back each host's trends look. */
  @NotNull
  @MinDuration(value = 2, unit = TimeUnit.MINUTES)
  @JsonProperty
  public Duration window = Duration.minutes(30);

  /**
   * The window keeps one minimum and one maximum per this much time per series (so a host costs the
   * same whatever its agents' interval): finer reacts sooner, coarser uses less memory.
   */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration resolution = Duration.seconds(30);

  /**
   * How long a series whose past is unknown (the host's, or a process present when the window
   * began) must have been watched before its trend may page: a pool that releases what it holds
   * every few minutes looks like a leak until a release is in view. A process first seen later has
   * no unknown past and is judged at once, and so is one seen through the whole of its host's
   * growth. Limits by usage (criticalUsedRatio) apply at once.
   */
  @NotNull
  @MinDuration(value = 0, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration minHistory = Duration.minutes(15);

  /** An alert resolves once its verdict has been inactive this long; flapping stays one alert. */
  @NotNull
  @MinDuration(value = 0, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration quietPeriod = Duration.minutes(10);

  /**
   * An alert whose handles are back where they were before the growth (the sockets closed, the
   * process exited or restarted) resolves once they have stayed there this long, without waiting
   * for the quiet period. CLOSE_WAIT sockets still held after growth stops keep their alert firing.
   */
  @NotNull
  @MinDuration(value = 0, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration resolveAfterRelease = Duration.minutes(1);

  /**
   * A host that has sent nothing for this long is let go: its firing alerts are no longer re-sent,
   * and not resolved either, since it may be reporting to another collector behind the same address
   * that now keeps them firing. Alertmanager ends the alert of a host that really went away at its
   * endsAt (four re-send intervals after the last send). Must be shorter than the quiet period, so
   * that this collector has stopped re-sending before the one that gained the host can resolve.
   */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration releaseAfter = Duration.minutes(5);

  /** How a collector rebuilds the window of a host it gains (scale-out, restarts). */
  @Valid @NotNull @JsonProperty public WarmUp warmUp = new WarmUp();

  /**
   * Stored reports waiting for the detector, shared out among the shards; beyond it a host's newest
   * report replaces its older ones still waiting (counted as coalesced), so nothing is skipped.
   */
  @Min(1)
  @Max(10_000_000)
  @JsonProperty
  public int queueCapacity = 10_000;

  /**
   * Detection threads: hosts are spread over this many shards, a host always on the same one. 0
   * (the default): one per core the JVM sees, and at least {@link #MIN_DEFAULT_SHARDS}.
   */
  @Min(0)
  @Max(256)
  @JsonProperty
  public int shards = 0;

  /** The health check fails once the oldest report waiting for detection has waited longer. */
  @NotNull @JsonProperty public Duration maxLag = Duration.minutes(1);

  /**
   * The fewest shards by default. Measured at 50,000 hosts on a collector pinned to one CPU
   * (BENCHMARKS.md, "Every report judged at 50,000 hosts"): one detection thread there got too
   * small a share of the CPU beside ingest's many threads and fell seconds behind, coalescing a
   * third of the reports, although judging them cost a tenth of a core; four threads on the same
   * CPU judged every one. A thread that mostly waits costs little, a starved one costs verdicts.
   */
  static final int MIN_DEFAULT_SHARDS = 4;

  @JsonIgnore
  int shardCount() {
    return shards > 0
        ? shards
        : Math.max(MIN_DEFAULT_SHARDS, Runtime.getRuntime().availableProcessors());
  }

  /**
   * Where RUNBOOK.md is published for your team (e.g. your Git web UI's link to it): the {@code
   * runbook_url} annotation is this plus {@code #} and the kind.
   */
  @NotNull @JsonProperty public String runbookUrl = "RUNBOOK.md";

  /** Per-process fds against the soft RLIMIT_NOFILE. */
  @Valid @NotNull @JsonProperty public Exhaustion processFds = new Exhaustion();

  /** file-nr allocated against fs.file-max. */
  @Valid @NotNull @JsonProperty public Exhaustion systemFds = new Exhaustion();

  /** Local ephemeral ports per remote endpoint against the width of ip_local_port_range. */
  @Valid @NotNull @JsonProperty public Exhaustion ports = new Exhaustion();

  /** TIME_WAIT sockets against net.ipv4.tcp_max_tw_buckets. */
  @Valid @NotNull @JsonProperty public Exhaustion timeWaitBuckets = new Exhaustion();

  /** Connection tracking entries against net.netfilter.nf_conntrack_max. */
  @Valid @NotNull @JsonProperty public Exhaustion conntrack = new Exhaustion();

  /** Orphaned TCP sockets (sockstat) against net.ipv4.tcp_max_orphans. */
  @Valid @NotNull @JsonProperty public Exhaustion orphans = new Exhaustion();

  /** TCP buffer pages (sockstat) against the max of net.ipv4.tcp_mem (past pressure: warning). */
  @Valid @NotNull @JsonProperty public Exhaustion tcpMemory = new Exhaustion();

  @Valid @NotNull @JsonProperty public AcceptQueue acceptQueue = new AcceptQueue();

  @Valid @NotNull @JsonProperty public CloseWait closeWait = new CloseWait();

  @Valid @NotNull @JsonProperty public Findings findings = new Findings();

  @Valid @NotNull @JsonProperty public Drift drift = new Drift();

  /** A host clock off the collector's by more than these pages (docs/clock.md). */
  @Valid @NotNull @JsonProperty public ClockLimits clock = new ClockLimits();

  @JsonIgnore
  @ValidationMethod(message = "minHistory must not exceed window")
  public boolean isMinHistoryWithinWindow() {
    return window == null
        || minHistory == null
        || minHistory.toMilliseconds() <= window.toMilliseconds();
  }

  @JsonIgnore
  @ValidationMethod(message = "resolution must be at most a quarter of window")
  public boolean isResolutionWithinWindow() {
    return window == null
        || resolution == null
        || resolution.toMilliseconds() * 4 <= window.toMilliseconds();
  }

  @JsonIgnore
  @ValidationMethod(message = "releaseAfter must be shorter than quietPeriod")
  public boolean isReleaseBeforeQuiet() {
    return releaseAfter == null
        || quietPeriod == null
        || releaseAfter.toMilliseconds() < quietPeriod.toMilliseconds();
  }

  /**
   * The engine's part of this section as plain values: what the {@link DetectionEngine} and its
   * rules are told (the runner's keys, warmUp, queueCapacity, shards and maxLag, stay here).
   */
  public DetectionConfig build() {
    return new DetectionConfig(
        java(window),
        java(resolution),
        java(minHistory),
        java(quietPeriod),
        java(resolveAfterRelease),
        java(releaseAfter),
        runbookUrl,
        processFds.build(),
        systemFds.build(),
        ports.build(),
        timeWaitBuckets.build(),
        conntrack.build(),
        orphans.build(),
        tcpMemory.build(),
        acceptQueue.build(),
        closeWait.build(),
        findings.build(),
        drift.build(),
        clock.build());
  }

  static java.time.Duration java(Duration d) {
    return java.time.Duration.ofMillis(d.toMilliseconds());
  }

  /**
   * A host new to this collector (first report here, or back after releaseAfter) has its window
   * rebuilt from the store (the last window of samples) and its open incidents taken over (the
   * verdict points of the last quiet period) before its report is judged: a host that moves between
   * collectors keeps its trends and its page. The store is read off the ingest path, a few hosts at
   * a time; the host's reports wait meanwhile.
   */
  public static class WarmUp {
    /** Off: a new host starts with an empty window (a moved leak pages again after minHistory). */
    @JsonProperty public boolean enabled = true;

    /** Hosts read from the store at once. */
    @Min(1)
    @Max(64)
    @JsonProperty
    public int concurrency = 2;

    /**
     * Hosts read in one store read at most (InfluxDB: one query naming them all). Hosts that wait
     * together are read together, so a fleet arriving at a cold collector costs the store a few
     * hundred reads instead of one per host; a host arriving alone is read alone, at once.
     */
    @Min(1)
    @Max(10_000)
    @JsonProperty
    public int batchHosts = 100;

    /** Hosts waiting for a read; beyond it a new host starts cold (counted, logged). */
    @Min(1)
    @Max(1_000_000)
    @JsonProperty
    public int maxWaiting = 10_000;

    /** A read not answered within this: the host starts cold (counted, logged). */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    public Duration timeout = Duration.seconds(30);

    /**
     * A read still going at its timeout goes on for this much more: the host starts cold at the
     * timeout, and once the read answers its history is merged before the reports judged since, so
     * the host is cold only while its read takes (a fleet read back more slowly than the timeout is
     * still warmed, the last hosts late). Zero: a read not answered within the timeout is dropped.
     */
    @NotNull @JsonProperty public Duration lateFor = Duration.minutes(5);

    /**
     * When the store counts as behind on its writes: this share of ingest's admission budget (the
     * points reports may hold in the store's write buffer) waiting. While it is, warm-up reads are
     * paced, one at a time, so that a fleet arriving at once (a collector's start) sends the
     * database one history read at a time beside its writes; they are never skipped, so no host
     * starts cold because ingest is busy. Expressed against the same budget that bounds ingest, so
     * a backlog ingest is allowed to build cannot silence the warm-up.
     */
    @DecimalMin("0.0")
    @DecimalMax("1.0")
    @JsonProperty
    public double paceAbove = 0.5;
  }

  /** Time to a limit, and how full it may be, before a page. */
  public static class Exhaustion {
    /** Warning when the trend reaches the limit within this. */
    @NotNull @JsonProperty public Duration warningEta = Duration.hours(24);

    /** Critical when the trend reaches the limit within this. */
    @NotNull @JsonProperty public Duration criticalEta = Duration.hours(1);

    /** Critical when this share of the limit is used, trend or not. */
    @DecimalMin("0.01")
    @DecimalMax("1.0")
    @JsonProperty
    public double criticalUsedRatio = 0.90;

    /**
     * A trend must have held this long before it counts: longer than a process's warm-up after a
     * restart, short enough to page a fast leak early.
     */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    public Duration minTrend = Duration.minutes(5);

    @JsonIgnore
    @ValidationMethod(message = "criticalEta must not exceed warningEta")
    public boolean isEtaOrdered() {
      return warningEta == null
          || criticalEta == null
          || criticalEta.toMilliseconds() <= warningEta.toMilliseconds();
    }

    public DetectionConfig.Exhaustion build() {
      return new DetectionConfig.Exhaustion(
          java(warningEta), java(criticalEta), criticalUsedRatio, java(minTrend));
    }
  }

  /** What sustained CLOSE_WAIT growth is; it pages critical. */
  public static class CloseWait {
    /** Growth must have held this long. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    public Duration minTrend = Duration.minutes(2);

    /** ... added at least this many CLOSE_WAIT sockets, */
    @Min(1)
    @JsonProperty
    public long minGrowth = 50;

    /** ... at this rate per minute or faster. */
    @DecimalMin("0.001")
    @JsonProperty
    public double minRatePerMinute = 2;

    public DetectionConfig.CloseWait build() {
      return new DetectionConfig.CloseWait(java(minTrend), minGrowth, minRatePerMinute);
    }
  }

  /** When a listener's accept queue pages. */
  public static class AcceptQueue {
    /**
     * Critical when the queue is full (queue at its backlog) in this many samples in a row while
     * ListenOverflows rises.
     */
    @Min(2)
    @Max(64)
    @JsonProperty
    public int saturatedSamples = 3;

    /** Warning when the queue was full in this share of the last recentSamples samples. */
    @DecimalMin("0.01")
    @DecimalMax("1.0")
    @JsonProperty
    public double oftenFullShare = 0.25;

    @Min(4)
    @Max(64)
    @JsonProperty
    public int recentSamples = 20;

    public DetectionConfig.AcceptQueue build() {
      return new DetectionConfig.AcceptQueue(saturatedSamples, oftenFullShare, recentSamples);
    }
  }

  /** Sysctl findings (informational, never page). */
  public static class Findings {
    /** net.core.somaxconn below this is a finding. */
    @Min(1)
    @JsonProperty
    public long minSomaxconn = 1024;

    /** A process holding this many TCP sockets with a soft nofile of 1024 or less is a finding. */
    @Min(1)
    @JsonProperty
    public long socketHeavyProcess = 256;

    /**
     * TIME_WAIT towards one endpoint above this share of ip_local_port_range: the range is narrower
     * than the churn needs (each TIME_WAIT holds its port for 60 s).
     */
    @DecimalMin("0.01")
    @DecimalMax("1.0")
    @JsonProperty
    public double timeWaitShareOfPortRange = 0.25;

    /**
     * nf_conntrack_max below this many times the flows the host needed at its busiest in the window
     * (conntrack's peak, or its TCP connections) is a finding.
     */
    @DecimalMin("1.0")
    @JsonProperty
    public double conntrackHeadroom = 2;

    /** TCP buffer pages peaking above this share of tcp_mem's pressure threshold: a finding. */
    @DecimalMin("0.01")
    @DecimalMax("1.0")
    @JsonProperty
    public double tcpMemPressureShare = 0.5;

    public DetectionConfig.Findings build() {
      return new DetectionConfig.Findings(
          minSomaxconn,
          socketHeavyProcess,
          timeWaitShareOfPortRange,
          conntrackHeadroom,
          tcpMemPressureShare);
    }
  }

  /** Fleet drift: a host whose sysctl differs from the majority of hosts. */
  public static class Drift {
    /** Fewer hosts reporting a sysctl than this: no majority to drift from. */
    @Min(2)
    @JsonProperty
    public int minHosts = 3;

    /** Sysctls the kernel sizes from memory, so they differ by machine size: not drift. */
    @NotNull @JsonProperty
    public List<String> ignore =
        new ArrayList<>(
            List.of(
                "fs.file-max",
                "net.ipv4.tcp_max_tw_buckets",
                "net.ipv4.tcp_max_syn_backlog",
                "net.ipv4.tcp_mem"));

    public DetectionConfig.Drift build() {
      return new DetectionConfig.Drift(minHosts, ignore);
    }
  }

  /** The {@code detection.clock} section: offsets (either way) that page. */
  public static class ClockLimits {
    /** An offset beyond this pages at warning. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    public Duration warning = Duration.seconds(2);

    /** An offset beyond this pages at critical. */
    @NotNull
    @MinDuration(value = 1, unit = TimeUnit.SECONDS)
    @JsonProperty
    public Duration critical = Duration.seconds(60);

    @JsonIgnore
    @ValidationMethod(message = "detection.clock.critical must exceed detection.clock.warning")
    public boolean isCriticalAboveWarning() {
      return warning == null
          || critical == null
          || critical.toMilliseconds() > warning.toMilliseconds();
    }

    public DetectionConfig.ClockLimits build() {
      return new DetectionConfig.ClockLimits(java(warning), java(critical));
    }
  }
}
