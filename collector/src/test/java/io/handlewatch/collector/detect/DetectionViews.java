package io.handlewatch.collector.detect;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Builds a {@link DetectionView} holding exactly what a test puts in it, as the engine would
 * publish it, for tests of what reads the view (the API's adapter).
 */
public final class DetectionViews {
  private final FleetDrift drift;
  private final DetectionView view;

  public DetectionViews(int driftMinHosts) {
    DetectionFactory.Drift config = new DetectionFactory.Drift();
    config.minHosts = driftMinHosts;
    drift = new FleetDrift(config.build());
    view = new DetectionView(drift);
  }

  public DetectionView view() {
    return view;
  }

  /** Publishes a host's verdicts and findings, as one evaluation of its report would. */
  public DetectionViews host(String host, Instant at, List<Verdict> verdicts, List<Verdict> found) {
    view.publish(new DetectionView.HostVerdicts(host, at, verdicts, found));
    return this;
  }

  /** Records a host's sysctls for fleet drift. */
  public DetectionViews sysctls(String host, Map<String, String> sysctls) {
    drift.update(host, sysctls);
    return this;
  }

  /** Publishes the firing alerts. */
  public DetectionViews alerts(List<Alert> alerts) {
    view.publishAlerts(alerts);
    return this;
  }

  /** A verdict with its evidence. */
  public static Verdict verdict(
      String host,
      Kind kind,
      String subject,
      Severity severity,
      Instant at,
      Double slopePerMin,
      double value,
      Double limit,
      Duration eta,
      Instant since,
      Map<String, String> labels) {
    return new Verdict(
        host,
        kind,
        subject,
        severity,
        at,
        since == null ? null : Duration.between(since, at),
        slopePerMin,
        value,
        limit,
        eta,
        since,
        labels,
        host + ": " + kind.tag() + " of " + subject,
        "evidence of " + subject,
        host + "/" + kind.tag() + "/" + subject);
  }
}
