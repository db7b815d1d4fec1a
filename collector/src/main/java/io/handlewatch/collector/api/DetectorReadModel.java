package io.handlewatch.collector.api;

import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionView;
import io.handlewatch.collector.detect.FleetDrift;
import io.handlewatch.collector.detect.Kind;
import io.handlewatch.collector.detect.Verdict;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The API's view of the running detector: its verdicts, findings, alerts and fleet drift, mapped
 * onto the API's own records. Reads {@link DetectionView} snapshots only, so it never waits on the
 * detector.
 */
public final class DetectorReadModel implements DetectionReadModel {
  private final DetectionView view;

  public DetectorReadModel(DetectionView view) {
    this.view = view;
  }

  @Override
  public List<VerdictView> verdicts(String host) {
    List<VerdictView> out = new ArrayList<>();
    for (Verdict v : view.verdicts(host)) {
      Severity severity = severity(v.severity());
      if (severity == null) continue; // OK: a verdict that just cleared is no longer in force
      out.add(
          new VerdictView(
              v.host(),
              v.kind().tag(),
              v.subject(),
              severity,
              v.eta() == null ? null : (double) v.eta().toSeconds(),
              v.slopePerMin(),
              Double.isNaN(v.value()) ? null : v.value(),
              v.limit(),
              v.window() == null ? null : v.window().toSeconds(),
              v.since(),
              v.at(),
              v.summary()));
    }
    return out;
  }

  @Override
  public List<Alert> activeAlerts() {
    return view.activeAlerts();
  }

  @Override
  public List<SysctlFinding> sysctlFindings(String host) {
    Map<String, String> drifted = new java.util.HashMap<>();
    for (FleetDrift.SysctlDrift d : view.drift()) {
      String value = d.differing().get(host);
      if (value != null) drifted.put(d.name(), value);
    }
    List<SysctlFinding> out = new ArrayList<>();
    for (Verdict f : view.findings(host)) {
      String name = sysctlOf(f);
      String value = f.kind() == Kind.SYSCTL_DRIFT ? drifted.get(f.subject()) : number(f.value());
      out.add(
          new SysctlFinding(
              f.host(), name, value, f.kind().tag(), f.description(), recommended(f.kind())));
    }
    return out;
  }

  @Override
  public List<SysctlDrift> sysctlDrift() {
    List<SysctlDrift> out = new ArrayList<>();
    for (FleetDrift.SysctlDrift d : view.drift()) {
      List<SysctlDrift.HostValue> differing =
          d.differing().entrySet().stream()
              .sorted(Map.Entry.comparingByKey())
              .map(e -> new SysctlDrift.HostValue(e.getKey(), e.getValue()))
              .toList();
      out.add(
          new SysctlDrift(
              d.name(), d.majority(), d.majorityHosts(), d.reportingHosts(), differing));
    }
    out.sort(Comparator.comparing(SysctlDrift::name));
    return out;
  }

  private static Severity severity(io.handlewatch.collector.detect.Severity s) {
    return switch (s) {
      case OK -> null;
      case INFO -> Severity.INFO;
      case WARNING -> Severity.WARNING;
      case CRITICAL -> Severity.CRITICAL;
    };
  }

  /**
   * The sysctl a finding is about, so the host view can mark it in its sysctl table. A finding
   * about a process (soft nofile) is about its RLIMIT_NOFILE, not a sysctl, and keeps its subject.
   */
  private static String sysctlOf(Verdict f) {
    return switch (f.kind()) {
      case NARROW_PORT_RANGE -> "net.ipv4.ip_local_port_range";
      default -> f.subject();
    };
  }

  private static String recommended(Kind kind) {
    return switch (kind) {
      case TCP_TW_RECYCLE -> "0";
      case LOW_SOMAXCONN -> "4096";
      default -> null;
    };
  }

  private static String number(double v) {
    if (Double.isNaN(v)) return null;
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }
}
