package io.handlewatch.collector.detect;

import java.time.Instant;

/** Findings for tests that need one without a window. */
final class SysctlFindingRuleTestSupport {
  private SysctlFindingRuleTestSupport() {}

  static Verdict finding(String host, Kind kind, Instant at) {
    HostWindow w = new HostWindow(host, 4);
    return SysctlFindingRule.finding(w, kind, kind.tag(), at, 1, "a finding", "why");
  }
}
