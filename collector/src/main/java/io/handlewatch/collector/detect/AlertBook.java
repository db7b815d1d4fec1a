package io.handlewatch.collector.detect;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The open incidents, one per (host, kind, subject), and their transitions with hysteresis.
 *
 * <ul>
 *   <li>A paging verdict (warning or critical) with no open incident fires one.
 *   <li>The incident stays open while its verdict recurs; it resolves once the verdict has been
 *       absent for the quiet period (RESOLVED, with {@code endsAt}). A value that flaps in and out
 *       of a verdict within the quiet period is one incident: one page, not one per flap.
 *   <li>Escalation: Alertmanager identifies an alert by its label set, severity included, so a
 *       warning that becomes critical is a new alert there. The book emits, at the same instant and
 *       with the same dedupKey, RESOLVED for the warning's labels and then FIRING for the critical
 *       labels: Alertmanager ends the warning instead of leaving it to time out, and a notifier
 *       keyed by dedupKey (PagerDuty) sees the incident move to critical. Severity never goes back
 *       down within an incident: a critical leak whose ETA lengthens stays critical until it
 *       resolves.
 * </ul>
 *
 * Not thread-safe: the detector thread owns it; {@link #active()} copies.
 */
final class AlertBook {
  private static final class Incident {
    Alert firing;
    Verdict last;
    Instant lastActive;
  }

  private final Duration quiet;
  private final String runbookUrl;
  private final Consumer<Alert> out;
  private final Map<String, Map<String, Incident>> byHost = new HashMap<>();

  AlertBook(Duration quiet, String runbookUrl, Consumer<Alert> out) {
    this.quiet = quiet;
    this.runbookUrl = runbookUrl;
    this.out = out;
  }

  /** A paging verdict seen now: fires, escalates or keeps its incident. */
  void observe(Verdict v) {
    if (!v.kind().pages() || !v.severity().pages()) return;
    Map<String, Incident> open = byHost.computeIfAbsent(v.host(), h -> new LinkedHashMap<>());
    Incident i = open.get(v.dedupKey());
    if (i == null) {
      i = new Incident();
      i.firing = firing(v, v.at());
      open.put(v.dedupKey(), i);
      out.accept(i.firing);
    } else if (v.severity().compareTo(severityOf(i.firing)) > 0) {
      out.accept(resolved(i.firing, i.last, v.at()));
      i.firing = firing(v, v.at());
      out.accept(i.firing);
    }
    i.last = v;
    i.lastActive = v.at();
  }

  /** Resolves the host's incidents whose verdict has been absent for the quiet period. */
  void sweep(String host, Instant now) {
    Map<String, Incident> open = byHost.get(host);
    if (open == null) return;
    for (Iterator<Incident> it = open.values().iterator(); it.hasNext(); ) {
      Incident i = it.next();
      if (Duration.between(i.lastActive, now).compareTo(quiet) >= 0) {
        it.remove();
        out.accept(resolved(i.firing, i.last, now));
      }
    }
    if (open.isEmpty()) byHost.remove(host);
  }

  /** {@link #sweep(String, Instant)} for every host (hosts that stopped reporting included). */
  void sweepAll(Instant now) {
    for (String host : new ArrayList<>(byHost.keySet())) sweep(host, now);
  }

  /** Whether the host has an open incident. */
  boolean hasIncidents(String host) {
    return byHost.containsKey(host);
  }

  /** The firing alerts, oldest first. */
  List<Alert> active() {
    List<Alert> all = new ArrayList<>();
    for (Map<String, Incident> open : byHost.values()) {
      for (Incident i : open.values()) all.add(i.firing);
    }
    all.sort(java.util.Comparator.comparing(Alert::startsAt).thenComparing(Alert::dedupKey));
    return all;
  }

  int size() {
    int n = 0;
    for (Map<String, Incident> open : byHost.values()) n += open.size();
    return n;
  }

  private static Severity severityOf(Alert a) {
    return Severity.valueOf(a.labels().get("severity").toUpperCase(java.util.Locale.ROOT));
  }

  private Alert firing(Verdict v, Instant at) {
    return new Alert(Alert.Status.FIRING, v.dedupKey(), labels(v), annotations(v), at, null, at);
  }

  private Alert resolved(Alert firing, Verdict last, Instant at) {
    return new Alert(
        Alert.Status.RESOLVED,
        firing.dedupKey(),
        firing.labels(),
        annotations(last),
        firing.startsAt(),
        at,
        at);
  }

  static Map<String, String> labels(Verdict v) {
    Map<String, String> l = new LinkedHashMap<>();
    l.put("alertname", v.kind().alertname());
    l.put("host", v.host());
    l.put("severity", v.severity().label());
    l.putAll(v.labels());
    return l;
  }

  /**
   * summary, description and runbook_url, plus the evidence as plain values for notification
   * templates: value, limit, slope_per_min, eta_seconds, since, window.
   */
  private Map<String, String> annotations(Verdict v) {
    Map<String, String> a = new LinkedHashMap<>();
    a.put("summary", v.summary());
    a.put("description", v.description());
    a.put("runbook_url", runbookUrl + "#" + v.kind().tag());
    a.put("value", number(v.value()));
    if (v.limit() != null) a.put("limit", number(v.limit()));
    if (v.slopePerMin() != null)
      a.put("slope_per_min", String.format(java.util.Locale.ROOT, "%.3f", v.slopePerMin()));
    if (v.eta() != null) a.put("eta_seconds", Long.toString(v.eta().toSeconds()));
    if (v.since() != null) a.put("since", v.since().toString());
    if (v.window() != null) a.put("window", v.window().toString());
    return a;
  }

  private static String number(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
  }
}
