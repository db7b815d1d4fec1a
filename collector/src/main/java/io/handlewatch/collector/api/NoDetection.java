package io.handlewatch.collector.api;

import io.handlewatch.collector.detect.Alert;
import java.util.List;

/** The read model while no detector runs: no verdicts, no alerts, no findings, no drift. */
public final class NoDetection implements DetectionSource {
  @Override
  public List<VerdictView> verdicts(String host) {
    return List.of();
  }

  @Override
  public List<Alert> activeAlerts() {
    return List.of();
  }

  @Override
  public List<SysctlFinding> sysctlFindings(String host) {
    return List.of();
  }

  @Override
  public List<SysctlDrift> sysctlDrift() {
    return List.of();
  }
}
