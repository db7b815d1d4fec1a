package io.handlewatch.collector.detect;

import java.time.Duration;
import java.util.List;

/**
 * What the {@link DetectionEngine} and its rules are told: the window, the thresholds of each
 * verdict and how alerts resolve, as plain values, so that replay and tests run the engine without
 * a server. The {@code detection:} section of the configuration ({@link DetectionFactory}) declares
 * the keys, their defaults and their validation, and {@link DetectionFactory#build() builds} this.
 *
 * @param window how far back each host's trends look
 * @param resolution one minimum and one maximum per series per this much time
 * @param minHistory how long a series whose past is unknown is watched before its trend may page
 * @param quietPeriod an alert resolves once its verdict has been inactive this long
 * @param resolveAfterRelease an alert whose handles are back where they grew from resolves after
 * @param releaseAfter a host silent this long is let go (its incidents released)
 * @param runbookUrl where RUNBOOK.md is published; the alerts' {@code runbook_url} starts with it
 */
public record DetectionConfig(
    Duration window,
    Duration resolution,
    Duration minHistory,
    Duration quietPeriod,
    Duration resolveAfterRelease,
    Duration releaseAfter,
    String runbookUrl,
    Exhaustion processFds,
    Exhaustion systemFds,
    Exhaustion ports,
    Exhaustion timeWaitBuckets,
    Exhaustion conntrack,
    Exhaustion orphans,
    Exhaustion tcpMemory,
    AcceptQueue acceptQueue,
    CloseWait closeWait,
    Findings findings,
    Drift drift,
    ClockLimits clock) {

  /** Time to a limit, and how full it may be, before a page ({@link ExhaustionJudge}). */
  public record Exhaustion(
      Duration warningEta, Duration criticalEta, double criticalUsedRatio, Duration minTrend) {}

  /** What sustained CLOSE_WAIT growth is: held {@code minTrend}, grown by both minimums. */
  public record CloseWait(Duration minTrend, long minGrowth, double minRatePerMinute) {}

  /** When a listener's accept queue pages. */
  public record AcceptQueue(int saturatedSamples, double oftenFullShare, int recentSamples) {}

  /** The thresholds of the sysctl findings. */
  public record Findings(
      long minSomaxconn,
      long socketHeavyProcess,
      double timeWaitShareOfPortRange,
      double conntrackHeadroom,
      double tcpMemPressureShare) {}

  /** Fleet drift: how many hosts make a majority, and the sysctls never compared. */
  public record Drift(int minHosts, List<String> ignore) {
    public Drift {
      ignore = List.copyOf(ignore);
    }
  }

  /** Clock offsets (either way) that page at warning and at critical. */
  public record ClockLimits(Duration warning, Duration critical) {}
}
