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
 *   <li>Takeover: a collector that gains a host (from another collector behind the same address, or
 *       after its own restart) {@link #inherit inherits} the incidents the store shows open. The
 *       first verdict here with an inherited dedupKey fires it with the inherited labels and
 *       startsAt, so Alertmanager sees the same alert continue, not a new one (a new page); it
 *       escalates as above if the verdict is worse. An inherited incident that no verdict here
 *       confirms within the quiet period is dropped without a word: this collector never sent it.
 *   <li>Release: a host that stopped reporting here is {@link #release released}: its incidents end
 *       with RELEASED (re-sends stop; nothing is resolved), because the host may be reporting to
 *       another collector that now keeps the incident firing.
 * </ul>
 *
 * Not thread-safe: the detector thread owns it; {@link #active()} copies.
 */
final class AlertBook {
  /**
   * An incident the store shows open on a host this book just gained: not sent from here yet.
   *
   * @param labels the alert's labels as last sent, severity included
   * @param lastActive the sample time its verdict was last seen
   */
  record Inherited(
      String dedupKey, Map<String, String> labels, Instant startsAt, Instant lastActive) {
    Inherited {
      labels = Map.copyOf(labels);
    }
  }

  /** Where an open incident's value stands, when its verdict is absent. */
  enum Standing {
    /** Back at the level it grew from: what leaked was released (closed, or its process exited). */
    RELEASED,
    /** Growth stopped, but what leaked is still held (CLOSE_WAIT sockets no one will close). */
    HELD,
    /** Neither, or not known. */
    UNKNOWN
  }

  /** An incident that ended here, for a restarted process that goes on leaking. */
  private record Ended(Map<String, String> labels, Instant at) {}

  private static final class Incident {
    /** What was sent; null while an inherited incident waits for a verdict here. */
    Alert firing;

    /** Since when its value has been back at its baseline; null when it is not. */
    Instant releasedSince;

    Inherited inherited;
    Verdict last;
    Instant lastActive;
  }

  private final Duration quiet;
  private final Duration resolveAfterRelease;
  private final Map<String, List<Ended>> ended = new HashMap<>();
  private final String runbookUrl;
  private final Consumer<Alert> out;
  private final Map<String, Map<String, Incident>> byHost = new HashMap<>();

  AlertBook(Duration quiet, String runbookUrl, Consumer<Alert> out) {
    this(quiet, quiet, runbookUrl, out);
  }

  AlertBook(Duration quiet, Duration resolveAfterRelease, String runbookUrl, Consumer<Alert> out) {
    this.quiet = quiet;
    this.resolveAfterRelease = resolveAfterRelease;
    this.runbookUrl = runbookUrl;
    this.out = out;
  }

  /** A paging verdict seen now: fires, escalates or keeps its incident. */
  void observe(Verdict v) {
    if (!v.kind().pages()) return;
    if (!v.severity().pages()) {
      // The same growth, still there but below paging (an ETA that lengthened, a count that
      // paused): it keeps an open incident open, and never opens one.
      Map<String, Incident> open = byHost.get(v.host());
      Incident i = open == null ? null : open.get(v.dedupKey());
      if (i != null && i.firing != null) {
        i.lastActive = v.at();
        i.releasedSince = null;
      }
      return;
    }
    Map<String, Incident> open = byHost.computeIfAbsent(v.host(), h -> new LinkedHashMap<>());
    Incident i = open.get(v.dedupKey());
    if (i == null) {
      i = new Incident();
      i.firing = firing(v, v.at());
      open.put(v.dedupKey(), i);
      out.accept(i.firing);
    } else if (i.firing == null) {
      takeOver(i, v);
    } else if (v.severity().compareTo(severityOf(i.firing.labels())) > 0) {
      out.accept(resolved(i.firing, i.last, v.at()));
      i.firing = firing(v, v.at());
      out.accept(i.firing);
    }
    i.last = v;
    i.lastActive = v.at();
    i.releasedSince = null;
  }

  /**
   * The inherited incident's first verdict here: it fires with the labels and startsAt last sent
   * (Alertmanager merges it into the alert already there), or escalates if the verdict is worse.
   */
  private void takeOver(Incident i, Verdict v) {
    Inherited h = i.inherited;
    if (v.severity().compareTo(severityOf(h.labels())) > 0) {
      out.accept(
          new Alert(
              Alert.Status.RESOLVED,
              h.dedupKey(),
              h.labels(),
              annotations(v),
              h.startsAt(),
              v.at(),
              v.at()));
      i.firing = firing(v, v.at());
    } else {
      i.firing =
          new Alert(
              Alert.Status.FIRING,
              h.dedupKey(),
              h.labels(),
              annotations(v),
              h.startsAt(),
              null,
              v.at());
    }
    out.accept(i.firing);
  }

  /**
   * Takes over the incidents the store shows open on a host this book just gained; keys already
   * open here are kept as they are.
   */
  void inherit(String host, List<Inherited> incidents) {
    if (incidents.isEmpty()) return;
    Map<String, Incident> open = byHost.computeIfAbsent(host, h -> new LinkedHashMap<>());
    for (Inherited h : incidents) {
      if (open.containsKey(h.dedupKey())) continue;
      Incident i = new Incident();
      i.inherited = h;
      i.lastActive = h.lastActive();
      open.put(h.dedupKey(), i);
    }
  }

  /**
   * Resolves the host's incidents whose verdict has been absent for the quiet period (an inherited
   * one never confirmed here is dropped: it was not sent from here).
   */
  void sweep(String host, Instant now) {
    sweep(host, now, key -> Standing.UNKNOWN);
  }

  /**
   * Resolves the host's incidents that are over as of {@code now}. An incident whose verdict is
   * absent and whose value has been back at its baseline for {@code resolveAfterRelease} resolves
   * then: its handles were released. One whose handles stay held ({@link Standing#HELD}) stays
   * open. Otherwise it resolves once its verdict has been absent for the quiet period, so a value
   * that flaps stays one incident.
   */
  void sweep(String host, Instant now, java.util.function.Function<String, Standing> standing) {
    Map<String, Incident> open = byHost.get(host);
    if (open == null) return;
    for (Iterator<Map.Entry<String, Incident>> it = open.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      Incident i = e.getValue();
      boolean over = Duration.between(i.lastActive, now).compareTo(quiet) >= 0;
      if (i.firing != null && i.lastActive.isBefore(now)) {
        switch (standing.apply(e.getKey())) {
          case RELEASED -> {
            if (i.releasedSince == null) i.releasedSince = now;
            if (Duration.between(i.releasedSince, now).compareTo(resolveAfterRelease) >= 0) {
              over = true;
            }
          }
          case HELD -> {
            i.releasedSince = null;
            i.lastActive = now;
            over = false;
          }
          case UNKNOWN -> i.releasedSince = null;
        }
      }
      if (over) {
        it.remove();
        if (i.firing != null) {
          out.accept(resolved(i.firing, i.last, now));
          ended
              .computeIfAbsent(host, h -> new ArrayList<>())
              .add(new Ended(i.firing.labels(), now));
        }
      }
    }
    if (open.isEmpty()) byHost.remove(host);
    List<Ended> done = ended.get(host);
    if (done != null) {
      done.removeIf(d -> Duration.between(d.at(), now).compareTo(quiet) > 0);
      if (done.isEmpty()) ended.remove(host);
    }
  }

  /**
   * The labels of an incident of {@code kind} naming {@code comm} and {@code remote} on the host
   * that is open, or ended within the quiet period; null if none.
   */
  Map<String, String> recent(String host, Kind kind, String comm, String remote, Instant now) {
    if (comm == null || remote == null) return null;
    Map<String, Incident> open = byHost.get(host);
    if (open != null) {
      for (Incident i : open.values()) {
        if (i.firing != null && matches(i.firing.labels(), kind, comm, remote)) {
          return i.firing.labels();
        }
      }
    }
    for (Ended d : ended.getOrDefault(host, List.of())) {
      if (matches(d.labels(), kind, comm, remote)) return d.labels();
    }
    return null;
  }

  private static boolean matches(Map<String, String> l, Kind kind, String comm, String remote) {
    return kind.alertname().equals(l.get("alertname"))
        && comm.equals(l.get("comm"))
        && remote.equals(l.get("remote"))
        && l.get("pid") != null;
  }

  /**
   * Lets go of a host that stopped reporting here: each of its incidents sent from here ends with
   * RELEASED (no longer re-sent, not resolved).
   */
  void release(String host, Instant now) {
    ended.remove(host);
    Map<String, Incident> open = byHost.remove(host);
    if (open == null) return;
    for (Incident i : open.values()) {
      if (i.firing == null) continue;
      Alert f = i.firing;
      out.accept(
          new Alert(
              Alert.Status.RELEASED,
              f.dedupKey(),
              f.labels(),
              f.annotations(),
              f.startsAt(),
              null,
              now));
    }
  }

  /** Whether the host has an open incident (inherited ones included). */
  boolean hasIncidents(String host) {
    return byHost.containsKey(host);
  }

  /** The alert sent for this incident, or null (none open, or inherited and not confirmed). */
  Alert sent(String host, String dedupKey) {
    Map<String, Incident> open = byHost.get(host);
    Incident i = open == null ? null : open.get(dedupKey);
    return i == null ? null : i.firing;
  }

  /** The firing alerts, oldest first. */
  List<Alert> active() {
    List<Alert> all = new ArrayList<>();
    for (Map<String, Incident> open : byHost.values()) {
      for (Incident i : open.values()) if (i.firing != null) all.add(i.firing);
    }
    all.sort(java.util.Comparator.comparing(Alert::startsAt).thenComparing(Alert::dedupKey));
    return all;
  }

  /** Incidents sent from here and still firing. */
  int size() {
    int n = 0;
    for (Map<String, Incident> open : byHost.values()) {
      for (Incident i : open.values()) if (i.firing != null) n++;
    }
    return n;
  }

  private static Severity severityOf(Map<String, String> labels) {
    return Severity.valueOf(labels.get("severity").toUpperCase(java.util.Locale.ROOT));
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
