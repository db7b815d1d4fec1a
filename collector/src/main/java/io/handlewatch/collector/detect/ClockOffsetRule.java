package io.handlewatch.collector.detect;

import io.handlewatch.collector.clock.ClockText;
import io.handlewatch.proto.v1.HostSample;
import java.time.Instant;
import java.util.Map;

/**
 * A host whose clock is off: TLS certificates look expired or not yet valid, logs and traces of the
 * host disagree with every other host's, and everything it timestamps itself is wrong. Its reports
 * are stored on the collector's timeline all the same (docs/clock.md); this verdict pages so the
 * clock gets fixed. Judged on the offset the collector applied to the host's newest report.
 */
public final class ClockOffsetRule implements Rule {
  /**
   * Reports in a row beyond the warning threshold before the host is judged: one report held up for
   * seconds in transit (a collector starting, a congested link) measures a larger offset than the
   * host has, and the next ones correct it.
   */
  static final int CONFIRM_REPORTS = 3;

  private final long warningMs;
  private final long criticalMs;

  /** Per host, reports in a row beyond the warning threshold; hosts within it are not kept. */
  private final Map<String, Integer> beyond = new java.util.HashMap<>();

  ClockOffsetRule(DetectionConfig.ClockLimits limits) {
    this.warningMs = limits.warning().toMillis();
    this.criticalMs = limits.critical().toMillis();
  }

  @Override
  public void evaluate(HostWindow w, HostSample s, Instant at, Outcome out) {
    String host = w.host;
    if (!s.hasClockOffsetMs()) return;
    long offset = s.getClockOffsetMs();
    long off = Math.abs(offset);
    if (off <= warningMs) {
      beyond.remove(host);
      return;
    }
    if (beyond.merge(host, 1, Integer::sum) < CONFIRM_REPORTS) return;
    Severity severity = off > criticalMs ? Severity.CRITICAL : Severity.WARNING;
    long limit = severity == Severity.CRITICAL ? criticalMs : warningMs;
    String summary = "clock " + ClockText.offset(offset) + " the collector";
    out.add(
        new Verdict(
            host,
            Kind.CLOCK_OFFSET,
            host,
            severity,
            at,
            null,
            null,
            offset / 1000.0,
            limit / 1000.0,
            null,
            null,
            Map.of(),
            host + ": " + summary,
            "The host's clock is "
                + ClockText.offset(offset)
                + " the collector's (beyond "
                + ClockText.seconds(limit)
                + "), measured from its agent's send times."
                + (s.hasClockStepMs()
                    ? " It just stepped by " + ClockText.seconds(s.getClockStepMs()) + "."
                    : "")
                + " Its reports are stored on the collector's time, but TLS, logs and everything"
                + " else it timestamps are off: check chronyd/ntpd/systemd-timesyncd"
                + " (timedatectl, chronyc tracking).",
            host + "/" + Kind.CLOCK_OFFSET.tag() + "/" + host));
  }
}
