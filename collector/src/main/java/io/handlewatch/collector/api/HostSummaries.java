package io.handlewatch.collector.api;

import io.handlewatch.collector.clock.ClockView;
import io.handlewatch.collector.clock.HostClockState;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.Severity;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.ProcessSample;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Sums up a host's latest report, its report interval, its verdicts and its firing alerts into a
 * {@link HostSummary}: the one place that decides a host's status, staleness and worst ETA.
 */
public final class HostSummaries {
  private final SampleStore store;
  private final DetectionSource detection;
  private final Clock clock;
  private final Duration defaultInterval;
  private final int staleAfterIntervals;
  private final ClockView clocks;

  public HostSummaries(
      SampleStore store,
      DetectionSource detection,
      Clock clock,
      Duration defaultInterval,
      int staleAfterIntervals) {
    this(store, detection, clock, defaultInterval, staleAfterIntervals, ClockView.NONE);
  }

  /**
   * @param clocks the hosts' clocks as ingest measured them, refused hosts included
   */
  public HostSummaries(
      SampleStore store,
      DetectionSource detection,
      Clock clock,
      Duration defaultInterval,
      int staleAfterIntervals,
      ClockView clocks) {
    this.clocks = clocks;
    this.store = store;
    this.detection = detection;
    this.clock = clock;
    this.defaultInterval = defaultInterval;
    this.staleAfterIntervals = staleAfterIntervals;
  }

  /** Every host the store knows, in host-name order. */
  public List<HostSummary> all() {
    return all(OwnerFilter.NONE);
  }

  /** The hosts whose latest report matches {@code filter}, in host-name order. */
  List<HostSummary> all(OwnerFilter filter) {
    Instant now = clock.instant();
    // The alerts are read once for the whole listing, not once per host.
    Map<String, Severity> paged = pagedSeverity(detection.activeAlerts());
    List<HostSummary> out = new ArrayList<>();
    java.util.Set<String> stored = new java.util.HashSet<>();
    for (HostReport r : store.latestPerHost()) {
      stored.add(ReportPoints.hostOf(r));
      if (filter.isEmpty() || filter.matches(r))
        out.add(of(r, now, paged.get(ReportPoints.hostOf(r))));
    }
    // A host whose every report was refused for its clock is listed all the same: hiding it is
    // how a broken clock went unnoticed.
    boolean added = false;
    for (HostClockState c : clocks.all()) {
      if (c.refusals() == 0 || stored.contains(c.host()) || !filter.isEmpty()) continue;
      out.add(refusedOnly(c, now));
      added = true;
    }
    if (added) out.sort(java.util.Comparator.comparing(HostSummary::host));
    return out;
  }

  /** A host known only from reports refused for their time: stale, with why. */
  private HostSummary refusedOnly(HostClockState c, Instant now) {
    Instant seen = c.lastRefusalAt();
    return new HostSummary(
        c.host(),
        seen.toString(),
        Duration.between(seen, now).toMillis() / 1000.0,
        defaultInterval.toMillis() / 1000.0,
        false,
        HostStatus.STALE,
        null,
        0,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        0,
        null,
        null,
        null,
        clock(null, c));
  }

  /** The host's clock: the offset its latest stored report was placed with, and what ingest saw. */
  static HostSummary.ClockSummary clock(HostSample s, HostClockState c) {
    Double offset = null;
    if (s != null && s.hasClockOffsetMs()) offset = s.getClockOffsetMs() / 1000.0;
    else if (c != null && c.offsetMs() != null) offset = c.offsetMs() / 1000.0;
    if (offset == null && (c == null || c.refusals() == 0)) return null;
    return new HostSummary.ClockSummary(
        offset,
        c == null ? 0 : c.refusals(),
        c == null ? null : c.lastRefusal(),
        c == null || c.lastStepMs() == null ? null : c.lastStepMs() / 1000.0,
        c == null || c.lastStepAt() == null ? null : c.lastStepAt().toString());
  }

  /** The summary of a host whose latest report is {@code r}. */
  public HostSummary of(HostReport r) {
    return of(r, clock.instant());
  }

  HostSummary of(HostReport r, Instant now) {
    String host = ReportPoints.hostOf(r);
    return of(r, now, pagedSeverity(detection.activeAlerts()).get(host));
  }

  private HostSummary of(HostReport r, Instant now, Severity paged) {
    String host = ReportPoints.hostOf(r);
    HostSample s = r.getSample();
    Instant seen = ReportPoints.timeOf(r);
    Optional<Duration> observed = store.reportInterval(host);
    Duration interval = observed.orElse(defaultInterval);
    Duration age = Duration.between(seen, now);
    boolean stale = age.compareTo(interval.multipliedBy(staleAfterIntervals)) > 0;
    List<VerdictView> verdicts = detection.verdicts(host);

    Map<String, Object> tcp = null;
    Long established = null;
    Long timeWait = null;
    Long closeWait = null;
    if (s.hasTcp() && s.getTcp().hasTotal()) {
      TcpStateCounts t = s.getTcp().getTotal();
      tcp = ReportPoints.tcpFields(t);
      established = t.getEstablished();
      timeWait = t.getTimeWait();
      closeWait = t.getCloseWait();
    }

    Double systemRatio =
        s.hasFileHandles() && s.getFileHandles().hasUsedRatio()
            ? s.getFileHandles().getUsedRatio()
            : null;
    Optional<ProcessSample> byRatio =
        s.getProcessesList().stream()
            .filter(ProcessSample::hasUsedRatio)
            .max(Comparator.comparingDouble(ProcessSample::getUsedRatio));
    Optional<ProcessSample> byCloseWait =
        s.getProcessesList().stream()
            .filter(p -> p.hasSockets() && p.getSockets().getCloseWait() > 0)
            .max(Comparator.comparingLong(p -> p.getSockets().getCloseWait()));
    Double processRatio = byRatio.map(ProcessSample::getUsedRatio).orElse(null);
    Double worstRatio = null;
    String usedBy = null;
    if (processRatio != null && (systemRatio == null || processRatio >= systemRatio)) {
      worstRatio = processRatio;
      usedBy = "process";
    } else if (systemRatio != null) {
      worstRatio = systemRatio;
      usedBy = "system";
    }

    return new HostSummary(
        host,
        seen.toString(),
        age.toMillis() / 1000.0,
        interval.toMillis() / 1000.0,
        observed.isPresent(),
        status(stale, verdicts, paged),
        worstEta(verdicts),
        r.getSeq(),
        established,
        timeWait,
        closeWait,
        tcp,
        percent(worstRatio),
        usedBy,
        percent(systemRatio),
        byRatio.map(HostSummaries::offender).orElse(null),
        byCloseWait.map(HostSummaries::offender).orElse(null),
        s.hasHealth() ? s.getHealth().getDroppedReports() : 0,
        s.getHost().getLabelsCount() == 0
            ? null
            : new java.util.TreeMap<>(s.getHost().getLabelsMap()),
        s.getHost().hasAgentVersion() ? s.getHost().getAgentVersion() : null,
        s.getHost().hasAgentCommit() ? s.getHost().getAgentCommit() : null,
        clock(s, clocks.of(host).orElse(null)));
  }

  /**
   * The host's status: its worst firing alert's severity, or its worst verdict's if that is worse;
   * stale when it has gone quiet and nothing pages for it; else ok. A firing alert outranks both
   * the verdicts and staleness, so the page never shows "ok" (or merely "stale") for a host the
   * pager is paging about: an alert outlives its verdict by the quiet period, and a host that ran
   * out of handles may stop reporting while its alert still fires.
   *
   * @param paged the worst severity among the host's firing alerts; null when none fires
   */
  static HostStatus status(boolean stale, List<VerdictView> verdicts, Severity paged) {
    Severity worst = Severity.INFO;
    for (VerdictView v : verdicts) if (v.severity().compareTo(worst) > 0) worst = v.severity();
    if (paged != null) {
      return paged == Severity.CRITICAL || worst == Severity.CRITICAL
          ? HostStatus.CRITICAL
          : HostStatus.WARNING;
    }
    if (stale) return HostStatus.STALE;
    return switch (worst) {
      case CRITICAL -> HostStatus.CRITICAL;
      case WARNING -> HostStatus.WARNING;
      case OK, INFO -> HostStatus.OK;
    };
  }

  /**
   * Per host, the worst severity among its firing alerts. An alert whose severity label is missing
   * or unknown counts as a warning: whatever it says, the host is being paged about.
   */
  static Map<String, Severity> pagedSeverity(List<Alert> alerts) {
    Map<String, Severity> out = new HashMap<>();
    for (Alert a : alerts) {
      if (a.status() != Alert.Status.FIRING || a.host() == null) continue;
      Severity s =
          "critical".equalsIgnoreCase(a.labels().get("severity"))
              ? Severity.CRITICAL
              : Severity.WARNING;
      out.merge(a.host(), s, (x, y) -> x.compareTo(y) >= 0 ? x : y);
    }
    return out;
  }

  static HostSummary.WorstEta worstEta(List<VerdictView> verdicts) {
    return verdicts.stream()
        .filter(v -> v.etaSeconds() != null)
        .min(Comparator.comparingDouble(VerdictView::etaSeconds))
        .map(v -> new HostSummary.WorstEta(v.etaSeconds(), v.kind(), v.subject(), v.severity()))
        .orElse(null);
  }

  static Double percent(Double ratio) {
    return ratio == null ? null : Math.round(ratio * 100_000) / 1000.0;
  }

  static HostSummary.Offender offender(ProcessSample p) {
    EndpointCount peer = p.getCloseWaitPeersCount() > 0 ? p.getCloseWaitPeers(0) : null;
    return new HostSummary.Offender(
        Integer.toUnsignedLong(p.getPid()),
        p.getComm(),
        p.hasFds() ? p.getFds() : null,
        p.hasSoftLimit() ? p.getSoftLimit() : null,
        p.hasUsedRatio() ? percent(p.getUsedRatio()) : null,
        p.hasSockets() ? p.getSockets().getCloseWait() : null,
        peer == null ? null : peer.getEndpoint(),
        peer == null ? null : peer.getCount());
  }
}
