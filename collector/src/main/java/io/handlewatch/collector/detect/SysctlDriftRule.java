package io.handlewatch.collector.detect;

import io.handlewatch.proto.v1.HostSample;
import java.time.Instant;

/**
 * Fleet drift as a host's findings: each sysctl whose value on this host differs from the majority
 * of the fleet ({@link FleetDrift}, shared by every engine, keeps the fleet's values).
 */
final class SysctlDriftRule implements Rule {
  private final FleetDrift drift;

  SysctlDriftRule(FleetDrift drift) {
    this.drift = drift;
  }

  @Override
  public void evaluate(HostWindow w, HostSample sample, Instant at, Outcome out) {
    for (FleetDrift.SysctlDrift d : drift.of(w.host).values()) out.add(finding(w, d, at));
  }

  private static Verdict finding(HostWindow w, FleetDrift.SysctlDrift d, Instant at) {
    String mine = d.differing().get(w.host);
    return SysctlFindingRule.finding(
        w,
        Kind.SYSCTL_DRIFT,
        d.name(),
        at,
        PortPressureRule.parse(mine),
        d.name()
            + " = "
            + mine
            + " differs from the fleet ("
            + d.majority()
            + " on "
            + d.majorityHosts()
            + " of "
            + d.reportingHosts()
            + " hosts)",
        "Most hosts set "
            + d.name()
            + " to "
            + d.majority()
            + "; this one has "
            + mine
            + ". A host tuned differently from its peers behaves differently under the same"
            + " load: make it match, or make the difference deliberate (configuration"
            + " management).");
  }
}
