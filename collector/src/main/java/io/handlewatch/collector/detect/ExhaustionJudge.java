package io.handlewatch.collector.detect;

import java.time.Duration;

/**
 * How close a value is to running out: critical above {@code criticalUsedRatio} of its limit or
 * when the trend reaches the limit within {@code criticalEta}, warning within {@code warningEta},
 * info for a growing trend further out. The same rule for fds, file handles, ports and TIME_WAIT
 * buckets, each with its own thresholds.
 */
final class ExhaustionJudge {
  /**
   * The judgement: its severity (null when there is nothing to say) and the time to the limit (null
   * without a growing trend).
   */
  record Judgement(Severity severity, Duration eta) {}

  private static final Judgement NOTHING = new Judgement(null, null);

  private final DetectionConfig.Exhaustion thresholds;

  ExhaustionJudge(DetectionConfig.Exhaustion thresholds) {
    this.thresholds = thresholds;
  }

  Judgement judge(Trend trend, double level, double limit) {
    if (Double.isNaN(level) || Double.isNaN(limit) || limit <= 0) return NOTHING;
    Duration eta = null;
    if (trend.growing() && trend.slopePerMin() > 0) {
      double minutes = Math.max(0, (limit - level) / trend.slopePerMin());
      eta = Duration.ofSeconds((long) Math.min(minutes * 60, 1e12));
    }
    Severity s;
    if (level >= thresholds.criticalUsedRatio() * limit) {
      s = Severity.CRITICAL;
    } else if (eta == null) {
      return NOTHING;
    } else if (eta.toMillis() <= thresholds.criticalEta().toMillis()) {
      s = Severity.CRITICAL;
    } else if (eta.toMillis() <= thresholds.warningEta().toMillis()) {
      s = Severity.WARNING;
    } else {
      s = Severity.INFO;
    }
    return new Judgement(s, eta);
  }

  double minTrendMinutes() {
    return thresholds.minTrend().toMillis() / 60_000.0;
  }
}
