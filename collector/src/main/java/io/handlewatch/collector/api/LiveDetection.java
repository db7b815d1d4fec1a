package io.handlewatch.collector.api;

import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionView;
import io.handlewatch.collector.detect.FleetDrift;
import io.handlewatch.collector.detect.Kind;
import io.handlewatch.collector.detect.Severity;
import io.handlewatch.collector.detect.Verdict;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The API's view of the running detector: its verdicts, findings, alerts and fleet drift, mapped
 * onto the API's own records. Reads {@link DetectionView} snapshots only, so it never waits on the
 * detector.
 */
public final class LiveDetection implements DetectionSource {
  /** The setting a low-nofile finding names: a process's limit, not a sysctl. */
  static final String RLIMIT_NOFILE = "RLIMIT_NOFILE";

  private final DetectionView view;

  public LiveDetection(DetectionView view) {
    this.view = view;
  }

  @Override
  public List<VerdictView> verdicts(String host) {
    List<VerdictView> out = new ArrayList<>();
    for (Verdict v : view.verdicts(host)) {
      Severity severity = v.severity();
      if (severity == Severity.OK) continue; // a verdict that just cleared is no longer in force
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
    Map<String, FleetDrift.SysctlDrift> drifted = new HashMap<>();
    for (FleetDrift.SysctlDrift d : view.drift()) {
      if (d.differing().containsKey(host)) drifted.put(d.name(), d);
    }
    List<SysctlFinding> out = new ArrayList<>();
    for (Verdict f : view.findings(host)) {
      String value;
      String recommended;
      if (f.kind() == Kind.SYSCTL_DRIFT) {
        // The host's own value (it may not parse as a number), and the fleet's: make it match.
        FleetDrift.SysctlDrift d = drifted.get(f.subject());
        value = d == null ? null : d.differing().get(host);
        recommended = d == null ? null : d.majority();
      } else {
        value = f.kind() == Kind.NARROW_PORT_RANGE ? null : number(f.value());
        recommended = recommended(f.kind());
      }
      out.add(
          new SysctlFinding(
              f.host(),
              settingOf(f),
              f.subject(),
              value,
              f.kind().tag(),
              f.summary(),
              f.description(),
              recommended));
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

  /**
   * The setting a finding is about, so the host view can mark it in its sysctl table: the sysctl,
   * except for a narrow port range (subject: the remote endpoint whose churn it cannot carry, the
   * setting: ip_local_port_range) and a low soft nofile (subject: the process, the setting: its
   * RLIMIT_NOFILE, which is no sysctl).
   */
  static String settingOf(Verdict f) {
    return switch (f.kind()) {
      case NARROW_PORT_RANGE -> "net.ipv4.ip_local_port_range";
      case LOW_NOFILE -> RLIMIT_NOFILE;
      default -> f.subject();
    };
  }

  /**
   * The value to prefer, where one value is right whatever the host: tcp_tw_recycle off, somaxconn
   * at the kernel's default since 5.4. A narrow range, a low nofile and a lowered fin_timeout
   * depend on the host's load, so the finding's message says what to do instead of naming a number.
   */
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
