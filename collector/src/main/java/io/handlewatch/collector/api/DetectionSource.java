package io.handlewatch.collector.api;

import io.handlewatch.collector.detect.Alert;
import java.util.List;

/**
 * What the API shows of the detector's conclusions. The API reads them only through this interface,
 * so the detector's own types stay its own: an adapter over the detector implements it, and {@link
 * NoDetection} stands in while none runs. Every method answers from memory, fast: the fleet listing
 * calls {@link #verdicts} once per host.
 */
public interface DetectionSource {

  /**
   * The host's verdicts in force now (not resolved), any order; empty for a host without any, or
   * one the detector does not know. They set the host's status (worst severity, with its firing
   * alerts) and worst ETA.
   */
  List<VerdictView> verdicts(String host);

  /** Alerts firing now, fleet-wide (the latest {@link Alert.Status#FIRING} transition of each). */
  List<Alert> activeAlerts();

  /** Informational sysctl findings of one host (no page), e.g. tcp_tw_recycle set. */
  List<SysctlFinding> sysctlFindings(String host);

  /**
   * Per sysctl, the fleet majority value and the hosts that differ from it; sysctls on which the
   * whole fleet agrees may be left out.
   */
  List<SysctlDrift> sysctlDrift();
}
