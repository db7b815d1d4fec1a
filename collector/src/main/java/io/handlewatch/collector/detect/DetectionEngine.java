package io.handlewatch.collector.detect;

import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.TagValues;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
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
import java.util.stream.Stream;

/**
 * Detection's core: each report goes into its host's {@link HostWindow}, the engine's {@link Rule
 * rules} judge the window in turn, {@link #fold} and the kernel-table rule join one cause's
 * verdicts into one incident, the {@link AlertBook} turns paging verdicts into alert transitions,
 * and verdicts become {@code verdict} points. Time is the reports' own (their sample time), so
 * {@code replay} runs a trace exactly as the live collector would have. Single-threaded: {@link
 * DetectionRunner} runs one engine per shard, each on its own thread with the hosts of its shard (a
 * host's windows, stored verdicts and incidents live in one engine only); the fleet-wide {@link
 * FleetDrift} and {@link DetectionView} are shared and thread-safe. Replay runs one engine on the
 * caller's thread.
 */
public final class DetectionEngine {
  /** What was last stored for one verdict key, to write its end once it clears. */
  private record Stored(Kind kind, String subject, Severity severity) {}

  /** Counts jitter by a couple without anything being released. */
  private static final double RELEASE_TOLERANCE = 2;

  private final Buckets buckets;
  private final Duration window;
  private final Duration quiet;
  private final Duration releaseAfter;
  private final Map<String, HostWindow> windows = new HashMap<>();
  private final Map<String, Map<String, Stored>> stored = new HashMap<>();

  /**
   * The rules whose verdicts are evidence of one leak (a process's CLOSE_WAIT sockets, its fds, its
   * ports towards the peer): {@link #fold} makes them one incident before the other rules run.
   */
  private final List<Rule> leakRules;

  /**
   * The rules judged after the fold, in this order: the kernel tables (a stuck listener's queue
   * joins its process's incident), the clock, the sysctl findings and the fleet drift.
   */
  private final List<Rule> laterRules;

  /** Every rule, in order: each takes in every sample, a late report's and a warm-up's too. */
  private final List<Rule> rules;

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
      DetectionConfig config,
      Consumer<Alert> alerts,
      Consumer<List<StoredPoint>> points,
      Function<String, Map<String, String>> knownSysctls) {
    this(config, alerts, points, knownSysctls, new FleetDrift(config.drift()), null);
  }

  /**
   * An engine for one shard of the fleet, sharing the fleet's sysctl drift and the API's view with
   * the other shards.
   *
   * @param view the shared view, or null for one of this engine's own
   */
  public DetectionEngine(
      DetectionConfig config,
      Consumer<Alert> alerts,
      Consumer<List<StoredPoint>> points,
      Function<String, Map<String, String>> knownSysctls,
      FleetDrift drift,
      DetectionView view) {
    this.window = config.window();
    this.quiet = config.quietPeriod();
    this.releaseAfter = config.releaseAfter();
    this.buckets = Buckets.of(window, config.resolution());
    EnvelopeTrend trends =
        new EnvelopeTrend(
            buckets.count(), buckets.minutes(), config.minHistory().toMillis() / 60_000.0);
    this.leakRules =
        List.of(
            new HandleExhaustionRule(config, buckets, trends),
            new CloseWaitGrowthRule(config, buckets, trends),
            new PortPressureRule(config, buckets, trends));
    this.laterRules =
        List.of(
            new KernelTableRule(config, buckets, trends),
            new ClockOffsetRule(config.clock()),
            new SysctlFindingRule(config),
            new SysctlDriftRule(drift));
    this.rules = Stream.concat(leakRules.stream(), laterRules.stream()).toList();
    this.drift = drift;
    this.view = view != null ? view : new DetectionView(drift);
    this.points = points;
    this.knownSysctls = knownSysctls;
    this.book =
        new AlertBook(
            quiet,
            config.resolveAfterRelease(),
            config.runbookUrl(),
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
    HostSample sample = report.getSample();
    if (w.add(sample, ms, buckets.bucketOf(ms))) drift.update(host, w.sysctls);
    for (Rule r : rules) r.add(w, sample, ms);
    if (late) return List.of();
    w.forgetOlderThan(ms - window.toMillis());

    Outcome out = new Outcome(key -> book.sent(host, key) != null);
    for (Rule r : leakRules) r.evaluate(w, sample, at, out);
    fold(out.verdicts);
    for (Rule r : laterRules) r.evaluate(w, sample, at, out);
    List<Verdict> verdicts = out.verdicts;
    List<Verdict> found = out.findings;
    continueRestarted(host, at, verdicts);
    Owners.addHostLabels(verdicts, sample.getHost().getLabelsMap());

    for (Verdict v : verdicts) book.observe(v);
    HostWindow hw = w;
    book.sweep(host, at, key -> release(hw, key));
    forgetBaselines(w, verdicts);
    store(host, at, verdicts, found);

    verdicts.sort(DetectionView.WORST_FIRST);
    view.publish(new DetectionView.HostVerdicts(host, at, verdicts, found));
    publishAlerts();
    List<Verdict> all = new ArrayList<>(verdicts);
    all.addAll(found);
    return all;
  }

  /** Where an incident's value stands against what it grew from. */
  private AlertBook.Standing release(HostWindow w, String dedupKey) {
    HostWindow.Baseline b = w.baselines.get(dedupKey);
    if (b == null) return AlertBook.Standing.UNKNOWN;
    double now = b.current().applyAsDouble(w);
    double rise = Math.max(0, b.peak() - b.level());
    if (now <= b.level() + Math.max(RELEASE_TOLERANCE, 0.2 * rise))
      return AlertBook.Standing.RELEASED;
    if (b.holds() && now >= b.level() + 0.5 * rise) return AlertBook.Standing.HELD;
    return AlertBook.Standing.UNKNOWN;
  }

  /** Baselines of incidents that are over, and of verdicts that never paged, are dropped. */
  private void forgetBaselines(HostWindow w, List<Verdict> verdicts) {
    if (w.baselines.isEmpty()) return;
    java.util.Set<String> now = new java.util.HashSet<>();
    for (Verdict v : verdicts) now.add(v.dedupKey());
    w.baselines.keySet().removeIf(k -> !now.contains(k) && book.sent(w.host, k) == null);
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
   *
   * <p>An incident already open here (paged while the host was cold, before a late warm-up's
   * history came back) keeps its baseline: the level it grew from and the peak it reached, which
   * the rebuilt window may no longer show (a verdict absent at the rebuild is not raised again to
   * note them). Each baseline reads its value by key in the window it is given, so the new window
   * answers for it. Without it the incident could not tell held CLOSE_WAIT sockets from a finished
   * leak: it resolved after the quiet period, and paged again when the leak went on.
   */
  public void warm(String host, List<HostReport> history, List<AlertBook.Inherited> incidents) {
    HostWindow w = new HostWindow(host, buckets.count());
    HostWindow before = windows.put(host, w);
    if (before != null) w.sysctls = before.sysctls;
    else useKnownSysctls(w);
    for (HostReport r : history) {
      long ms = ReportPoints.timeOf(r).toEpochMilli();
      w.add(r.getSample(), ms, buckets.bucketOf(ms));
      for (Rule rule : rules) rule.add(w, r.getSample(), ms);
    }
    if (w.lastMs > 0) w.forgetOlderThan(w.lastMs - window.toMillis());
    if (before != null) {
      for (var b : before.baselines.entrySet()) {
        if (book.sent(host, b.getKey()) != null) w.baselines.put(b.getKey(), b.getValue());
      }
    }
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
    view.publishAlerts(this, book.active());
  }

  /**
   * One leak, one incident. A process leaking CLOSE_WAIT sockets also grows its fds (each socket is
   * one) and, for outgoing connections, the local ports towards its peer (each socket holds one):
   * those verdicts are evidence of the same incident, not pages of their own. The process's
   * CLOSE_WAIT verdict takes them in at the highest severity among them, with the soonest ETA and
   * their summaries; they stay verdicts (INFO) for the API. A host-wide CLOSE_WAIT verdict whose
   * growth no sampled process explains takes in port pressure that grows at the same rate.
   */
  private void fold(List<Verdict> verdicts) {
    for (int i = 0; i < verdicts.size(); i++) {
      Verdict p = verdicts.get(i);
      if (p.kind() != Kind.CLOSE_WAIT) continue;
      boolean ofHost = p.subject().equals(p.host());
      String identity = identity(p);
      String remote = p.labels().get("remote");
      List<Integer> members = new ArrayList<>();
      int closest = -1;
      for (int j = 0; j < verdicts.size(); j++) {
        Verdict m = verdicts.get(j);
        if (!ofHost && m.kind() == Kind.PROCESS_FDS && identity(m).equals(identity)) {
          members.add(j);
        } else if (m.kind() == Kind.PORT_PRESSURE && m.slopePerMin() != null) {
          if (remote != null && m.subject().equals(remote)) {
            members.add(j);
          } else if (ofHost && remote == null && sameRate(p, m)) {
            if (closest < 0 || rateGap(p, m) < rateGap(p, verdicts.get(closest))) closest = j;
          }
        }
      }
      if (closest >= 0) members.add(closest);
      if (members.isEmpty()) continue;
      // The incident already paging keeps its name: a process whose fds paged first (a slow
      // CLOSE_WAIT leak) keeps that page when its CLOSE_WAIT growth shows, instead of a second one.
      int primary = i;
      if (book.sent(p.host(), p.dedupKey()) == null) {
        for (int j : members) {
          if (book.sent(p.host(), verdicts.get(j).dedupKey()) != null) {
            primary = j;
            break;
          }
        }
      }
      List<Integer> all = new ArrayList<>(members);
      all.add(i);
      int keep = primary;
      List<Verdict> others = all.stream().filter(j -> j != keep).map(verdicts::get).toList();
      Verdict merged = merge(verdicts.get(primary), others);
      for (int j : all) verdicts.set(j, verdicts.get(j).withSeverity(Severity.INFO));
      verdicts.set(primary, merged);
    }
  }

  private static boolean sameRate(Verdict a, Verdict b) {
    return a.slopePerMin() != null && a.slopePerMin() > 0 && rateGap(a, b) <= Math.log(2);
  }

  private static double rateGap(Verdict a, Verdict b) {
    return Math.abs(Math.log(b.slopePerMin() / a.slopePerMin()));
  }

  /** The part of a dedupKey after host and kind: the process's identity, the remote, ... */
  private static String identity(Verdict v) {
    return v.dedupKey().substring(v.host().length() + v.kind().tag().length() + 2);
  }

  private static Verdict merge(Verdict p, List<Verdict> members) {
    Severity severity = p.severity();
    java.time.Duration eta = p.eta();
    Double limit = p.limit();
    Map<String, String> labels = new HashMap<>(p.labels());
    StringBuilder summary = new StringBuilder(p.summary());
    StringBuilder d = new StringBuilder(p.description()).append(" Same incident:");
    for (Verdict m : members) {
      if (m.severity().compareTo(severity) > 0) severity = m.severity();
      if (m.eta() != null && (eta == null || m.eta().compareTo(eta) < 0)) {
        eta = m.eta();
        if (m.kind() == Kind.PROCESS_FDS) {
          limit = m.limit();
          summary.append("; fds exhausted in ").append(EvidenceText.eta(m.eta()));
        } else {
          summary.append("; ports towards ").append(m.subject()).append(" exhausted in ");
          summary.append(EvidenceText.eta(m.eta()));
        }
      }
      if (m.kind() == Kind.PORT_PRESSURE) labels.putIfAbsent("remote", m.subject());
      d.append(' ').append(m.summary().substring(m.host().length() + 2)).append('.');
    }
    return new Verdict(
        p.host(),
        p.kind(),
        p.subject(),
        severity,
        p.at(),
        p.window(),
        p.slopePerMin(),
        p.value(),
        limit,
        eta,
        p.since(),
        labels,
        summary.toString(),
        d.toString(),
        p.dedupKey());
  }

  /**
   * A process restarted in the middle of a CLOSE_WAIT leak (same name, same remote, new pid) that
   * goes on leaking is the same bug: as soon as its own growth shows (below the growth that pages a
   * new leak), it pages at the incident's severity, naming the new pid, instead of waiting to grow
   * as far as a leak never seen before must.
   */
  private void continueRestarted(String host, Instant at, List<Verdict> verdicts) {
    for (int i = 0; i < verdicts.size(); i++) {
      Verdict v = verdicts.get(i);
      if (v.kind() != Kind.CLOSE_WAIT || v.severity().pages() || v.labels().get("pid") == null) {
        continue;
      }
      Map<String, String> before =
          book.recent(host, v.kind(), v.labels().get("comm"), v.labels().get("remote"), at);
      if (before == null || before.get("pid").equals(v.labels().get("pid"))) continue;
      String was = before.get("comm") + "[" + before.get("pid") + "]";
      verdicts.set(
          i,
          new Verdict(
              v.host(),
              v.kind(),
              v.subject(),
              Severity.valueOf(before.get("severity").toUpperCase(java.util.Locale.ROOT)),
              v.at(),
              v.window(),
              v.slopePerMin(),
              v.value(),
              v.limit(),
              v.eta(),
              v.since(),
              v.labels(),
              v.summary() + ", like " + was + " before its restart",
              v.description()
                  + " "
                  + was
                  + " leaked CLOSE_WAIT sockets the same way towards the same remote until it was"
                  + " restarted: the leak goes on in its successor.",
              v.dedupKey()));
    }
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
