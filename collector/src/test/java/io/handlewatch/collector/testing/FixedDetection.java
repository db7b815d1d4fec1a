package io.handlewatch.collector.testing;

import io.handlewatch.collector.api.DetectionSource;
import io.handlewatch.collector.api.SysctlDrift;
import io.handlewatch.collector.api.SysctlFinding;
import io.handlewatch.collector.api.VerdictView;
import io.handlewatch.collector.detect.Alert;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A detection read model holding whatever the test puts in it, as the detector's adapter would. */
public final class FixedDetection implements DetectionSource {
  public final List<VerdictView> verdicts = new CopyOnWriteArrayList<>();
  public final List<Alert> alerts = new CopyOnWriteArrayList<>();
  public final List<SysctlFinding> findings = new CopyOnWriteArrayList<>();
  public final List<SysctlDrift> drift = new CopyOnWriteArrayList<>();

  @Override
  public List<VerdictView> verdicts(String host) {
    return verdicts.stream().filter(v -> v.host().equals(host)).toList();
  }

  @Override
  public List<Alert> activeAlerts() {
    return List.copyOf(alerts);
  }

  @Override
  public List<SysctlFinding> sysctlFindings(String host) {
    return findings.stream().filter(f -> f.host().equals(host)).toList();
  }

  @Override
  public List<SysctlDrift> sysctlDrift() {
    return List.copyOf(drift);
  }
}
