package io.handlewatch.collector.detect;

import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.TagValues;
import io.handlewatch.proto.v1.HostReport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The detector's core: each report goes into its host's {@link HostWindow}, the detectors judge the
 * window, the {@link AlertBook} turns paging verdicts into alert transitions, and verdicts become
 * {@code verdict} points. Time is the reports' own (their sample time), so {@code replay} runs a
 * trace exactly as the live collector would have. Single-threaded: {@link Detector} runs it on one
 * thread; replay on the caller's.
 */
public final class DetectionEngine {
  /** What was last stored for one verdict key, to write its end once it clears. */
  private record Stored(Kind kind, String subject, Severity severity) {}

  private final Buckets buckets;
  private final Duration window;
  private final Duration quiet;
  private final Duration releaseAfter;
  private final Map<String, HostWindow> windows = new HashMap<>();
  private final Map<String, Map<String, Stored>> stored = new HashMap<>();
  private final HandleExhaustionDetector handles;
  private final CloseWaitGrowthDetector closeWait;
  private final PortPressureDetector ports;
  private final SysctlFindings findings;
  private final FleetDrift drift;
  private final AlertBook book;
  private final DetectionView view;
  private final Consumer<List<StoredPoint>> points;
  private final Function<String, Map<String, String>> knownSysctls;
  private boolean alertsChanged;

  /**
   * @param alerts receives every alert transition, in order, on the evaluating thread
   * @param points receives the {@code verdict} points of each evaluation (may be empty: not called)
   * @param knownSysctls a host's last known sysctls when its first report seen here has none (the
   *     store's latest view after a collector restart); empty when unknown
   */
  public DetectionEngine(
      DetectionFactory config,
      Consumer<Alert> alerts,
      Consumer<List<StoredPoint>> points,
      Function<String, Map<String, String>> knownSysctls) {
    this.window = Duration.ofMillis(config.window.toMilliseconds());
    this.quiet = Duration.ofMillis(config.quietPeriod.toMilliseconds());
    this.releaseAfter = Duration.ofMillis(config.releaseAfter.toMilliseconds());
    this.buckets = Buckets.of(window, Duration.ofMillis(config.resolution.toMilliseconds()));
    EnvelopeTrend trends =
        new EnvelopeTrend(
            buckets.count(), buckets.minutes(), config.minHistory.toMilliseconds() / 60_000.0);
    this.handles = new HandleExhaustionDetector(config, buckets, trends);
    this.closeWait = new CloseWaitGrowthDetector(config, buckets, trends);
    this.ports = new PortPressureDetector(config, buckets, trends);
    this.findings = new SysctlFindings(config);
    this.drift = new FleetDrift(config.drift);
    this.view = new DetectionView(drift);
    this.points = points;
    this.knownSysctls = knownSysctls;
    this.book =
        new AlertBook(
            quiet,
            config.runbookUrl,
            a -> {
              alertsChanged = true;
              alerts.accept(a);
            });
  }

  public DetectionView view() {
    return view;
  }

  /** Hosts with a window. */
  public int hosts() {
    return windows.size();
  }

  /** Open incidents. */
  public int firing() {
    return book.size();
  }

  /**
   * Adds a stored report to its host's window and judges the host as of the report's time; returns
   * the verdicts. A report older than the host's newest (a replay after a reconnect) only fills its
   * window.
   */
  public List<Verdict> evaluate(HostReport report) {
    String host = ReportPoints.hostOf(report);
    Instant at = ReportPoints.timeOf(report);
    long ms = at.toEpochMilli();
    HostWindow w = windows.get(host);
    if (w == null) {
      w = new HostWindow(host, buckets.count());
      windows.put(host, w);
      if (report.getSample().getSysctlsCount() == 0) useKnownSysctls(w);
    }
    boolean late = ms < w.lastMs;
    if (w.add(report.getSample(), ms, buckets.bucketOf(ms))) drift.update(host, w.sysctls);
    if (late) return List.of();
    w.forgetOlderThan(ms - window.toMillis());

    List<Verdict> verdicts = new ArrayList<>();
    handles.evaluate(w, at, verdicts);
    closeWait.evaluate(w, at, verdicts);
    ports.evaluate(w, at, verdicts);
    foldIntoCloseWait(verdicts);
    Owners.addHostLabels(verdicts, report.getSample().getHost().getLabelsMap());
    List<Verdict> found = new ArrayList<>();
    findings.evaluate(w, at, found);
    for (FleetDrift.SysctlDrift d : drift.of(host).values()) found.add(driftFinding(w, d, at));

    for (Verdict v : verdicts) book.observe(v);
    book.sweep(host, at);
    store(host, at, verdicts, found);

    verdicts.sort(DetectionView.WORST_FIRST);
    view.publish(new DetectionView.HostVerdicts(host, at, verdicts, found));
    publishAlerts();
    List<Verdict> all = new ArrayList<>(verdicts);
    all.addAll(found);
    return all;
  }

  private void useKnownSysctls(HostWindow w) {
    Map<String, String> known = knownSysctls.apply(w.host);
    if (!known.isEmpty()) {
      w.sysctls = Map.copyOf(known);
      drift.update(w.host, w.sysctls);
    }
  }

  /**
   * Whether a report of {@code host} at {@code at} finds it new here: no window, or one whose
   * newest sample is older than {@code releaseAfter} (the host was let go; another collector may
   * have had it since). Its window should then be {@link #warm warmed} from the store first.
   */
  public boolean isNew(String host, Instant at) {
    HostWindow w = windows.get(host);
    return w == null || at.toEpochMilli() - w.lastMs > releaseAfter.toMillis();
  }

  /**
   * Rebuilds a host's window from its stored history (reports oldest first, as {@code
   * StoredReports} makes them) and takes over the incidents the store shows open, before the host's
   * next report is evaluated. Judges nothing and sends nothing: the next report does.
   */
  public void warm(String host, List<HostReport> history, List<AlertBook.Inherited> incidents) {
    HostWindow w = new HostWindow(host, buckets.count());
    HostWindow before = windows.put(host, w);
    if (before != null) w.sysctls = before.sysctls;
    else useKnownSysctls(w);
    for (HostReport r : history) {
      long ms = ReportPoints.timeOf(r).toEpochMilli();
      w.add(r.getSample(), ms, buckets.bucketOf(ms));
    }
    if (w.lastMs > 0) w.forgetOlderThan(w.lastMs - window.toMillis());
    book.inherit(host, incidents);
  }

  /**
   * Lets go of hosts silent for {@code releaseAfter} as of {@code now}: their incidents end with
   * RELEASED, neither resolved nor re-sent, since the host may now report to another collector that
   * keeps them firing (a dead host's alert ends in Alertmanager at its endsAt). Forgets hosts
   * silent for longer than the window and the quiet period.
   */
  public void sweep(Instant now) {
    long releaseBefore = now.toEpochMilli() - releaseAfter.toMillis();
    for (HostWindow w : windows.values()) {
      if (w.lastMs < releaseBefore && book.hasIncidents(w.host)) book.release(w.host, now);
    }
    long forgetBefore = now.toEpochMilli() - window.toMillis() - quiet.toMillis();
    for (Iterator<HostWindow> it = windows.values().iterator(); it.hasNext(); ) {
      HostWindow w = it.next();
      if (w.lastMs < forgetBefore && !book.hasIncidents(w.host)) {
        it.remove();
        drift.remove(w.host);
        view.forget(w.host);
        stored.remove(w.host);
      }
    }
    publishAlerts();
  }

  private void publishAlerts() {
    if (!alertsChanged) return;
    alertsChanged = false;
    view.publishAlerts(book.active());
  }

  /**
   * Warnings that a CLOSE_WAIT leak already paging critical explains are the same incident, and
   * stay verdicts (INFO) rather than second pages: the leaking process's fd warning (the CLOSE_WAIT
   * page carries the fd ETA), and port pressure towards the endpoint it leaks to (each leaked
   * socket is an outgoing connection holding an ephemeral port towards that remote). Either still
   * pages once it turns critical on its own.
   */
  private static void foldIntoCloseWait(List<Verdict> verdicts) {
    Map<String, Verdict> closeWaitBySubject = new HashMap<>();
    Map<String, Verdict> closeWaitByRemote = new HashMap<>();
    for (Verdict v : verdicts) {
      if (v.kind() == Kind.CLOSE_WAIT && v.severity() == Severity.CRITICAL) {
        closeWaitBySubject.put(v.subject(), v);
        String remote = v.labels().get("remote");
        if (remote != null) closeWaitByRemote.merge(remote, v, DetectionEngine::steeper);
      }
    }
    if (closeWaitBySubject.isEmpty()) return;
    for (int i = 0; i < verdicts.size(); i++) {
      Verdict v = verdicts.get(i);
      if (v.severity() != Severity.WARNING || v.slopePerMin() == null) continue;
      Verdict cw =
          switch (v.kind()) {
            case PROCESS_FDS -> closeWaitBySubject.get(v.subject());
            case PORT_PRESSURE -> closeWaitByRemote.get(v.subject());
            default -> null;
          };
      if (cw != null && cw.slopePerMin() != null && cw.slopePerMin() >= v.slopePerMin() / 2) {
        verdicts.set(i, v.withSeverity(Severity.INFO));
      }
    }
  }

  private static Verdict steeper(Verdict a, Verdict b) {
    double sa = a.slopePerMin() == null ? 0 : a.slopePerMin();
    double sb = b.slopePerMin() == null ? 0 : b.slopePerMin();
    return sa >= sb ? a : b;
  }

  private static Verdict driftFinding(HostWindow w, FleetDrift.SysctlDrift d, Instant at) {
    String mine = d.differing().get(w.host);
    return SysctlFindings.finding(
        w,
        Kind.SYSCTL_DRIFT,
        d.name(),
        at,
        PortPressureDetector.parse(mine),
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

  /**
   * Writes the evaluation's verdict points: every paging verdict at warning or above on each
   * evaluation (its ETA over time), a finding when it appears or changes, and one {@code ok} point
   * when a stored verdict clears, so a graph shows where it ended.
   */
  private void store(String host, Instant at, List<Verdict> verdicts, List<Verdict> found) {
    Map<String, Stored> before = stored.getOrDefault(host, Map.of());
    Map<String, Stored> now = new LinkedHashMap<>();
    List<StoredPoint> out = new ArrayList<>();
    for (Verdict v : verdicts) {
      if (!v.severity().pages()) continue;
      now.put(v.dedupKey(), new Stored(v.kind(), v.subject(), v.severity()));
      out.add(point(v, book.sent(host, v.dedupKey())));
    }
    for (Verdict v : found) {
      Stored s = new Stored(v.kind(), v.subject(), v.severity());
      now.put(v.dedupKey(), s);
      if (!s.equals(before.get(v.dedupKey()))) out.add(point(v, null));
    }
    for (var e : before.entrySet()) {
      if (now.containsKey(e.getKey())) continue;
      Stored s = e.getValue();
      out.add(
          new StoredPoint(
              "verdict", tags(host, s.kind(), s.subject()), Map.of("severity", "ok"), at));
    }
    if (now.isEmpty()) stored.remove(host);
    else stored.put(host, now);
    if (!out.isEmpty()) points.accept(out);
  }

  /**
   * A verdict as a point; {@code firing}, the incident it keeps open, goes along so that a
   * collector that gains the host takes the incident over ({@link StoredIncidents}).
   */
  private static StoredPoint point(Verdict v, Alert firing) {
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("severity", v.severity().label());
    if (v.eta() != null) f.put("eta_seconds", v.eta().toSeconds());
    if (v.slopePerMin() != null) f.put("slope_per_min", v.slopePerMin());
    if (!Double.isNaN(v.value())) f.put("value", v.value());
    if (v.limit() != null && !Double.isNaN(v.limit())) f.put("limit", v.limit());
    if (firing != null) f.put(StoredIncidents.FIELD, StoredIncidents.encode(firing));
    return new StoredPoint("verdict", tags(v.host(), v.kind(), v.subject()), f, v.at());
  }

  private static TreeMap<String, String> tags(String host, Kind kind, String subject) {
    TreeMap<String, String> t = new TreeMap<>();
    t.put("host", host);
    t.put("kind", kind.tag());
    t.put("subject", TagValues.safe(subject));
    return t;
  }
}
