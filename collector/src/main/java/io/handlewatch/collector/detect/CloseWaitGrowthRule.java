package io.handlewatch.collector.detect;

import static io.handlewatch.collector.detect.EvidenceText.count;
import static io.handlewatch.collector.detect.EvidenceText.eta;
import static io.handlewatch.collector.detect.EvidenceText.rate;
import static io.handlewatch.collector.detect.EvidenceText.span;
import static io.handlewatch.collector.detect.EvidenceText.time;

import io.handlewatch.proto.v1.HostSample;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * CLOSE_WAIT growth: the peer closed and the process never called close(), so each socket holds an
 * fd until the process exits. Sustained growth pages critical, attributed to the process and the
 * remote endpoint whose sockets grew most; a high but stable count, and noise, do not. Growth the
 * sampled processes do not account for (an unreadable process) is a verdict about the host.
 */
final class CloseWaitGrowthRule implements Rule {
  private static final double TOLERANCE = 2;

  /** A process's verdict on growth too slow to page, and the level it grew from. */
  private record Weak(Verdict verdict, double from) {}

  /** A peer's growth since the onset. */
  private record PeerGrowth(String endpoint, double count, double grew) {}

  private final Buckets buckets;
  private final EnvelopeTrend trends;
  private final DetectionConfig.CloseWait config;

  CloseWaitGrowthRule(DetectionConfig config, Buckets buckets, EnvelopeTrend trends) {
    this.buckets = buckets;
    this.trends = trends;
    this.config = config.closeWait();
  }

  private double minTrendMinutes() {
    return config.minTrend().toMillis() / 60_000.0;
  }

  /** Whether a trend is growth that pages, or (null) no verdict at all. */
  private Severity judge(Trend t) {
    if (!t.growing()) return null;
    if (t.rise() >= config.minGrowth() && t.slopePerMin() >= config.minRatePerMinute()) {
      return Severity.CRITICAL;
    }
    return Severity.INFO;
  }

  @Override
  public void evaluate(HostWindow w, HostSample sample, Instant at, Outcome out) {
    long now = w.lastBucket;
    long first = buckets.first(now);
    boolean hostCurrent = w.closeWait.lastMs() == w.lastMs;
    Trend host =
        hostCurrent
            ? trends.analyze(w.closeWait, first, now, minTrendMinutes(), TOLERANCE)
            : Trend.NONE;
    boolean hostGrowing = host.growing();

    double claimed = 0;
    double claimedByPages = 0;
    double sampled = 0;
    java.util.Set<ProcessWindow> judged = new java.util.HashSet<>();
    Map<ProcessWindow, Weak> weak = new java.util.LinkedHashMap<>();
    for (ProcessWindow p : w.processes.values()) {
      if (p.closeWait == null || p.lastMs < w.lastMs) continue;
      double since = hostGrowing ? riseSince(p, host.onsetBucket()) : 0;
      sampled += since;
      // Seen from its start (it appeared after this window began, counted from zero), or seen
      // through the whole of the host's growth: its past holds nothing the window does not show.
      boolean pastKnown =
          p.firstMs > w.firstMs || (hostGrowing && p.firstBucket <= host.onsetBucket());
      Trend t = trends.analyze(p.closeWait, first, now, minTrendMinutes(), TOLERANCE, pastKnown);
      Severity s = judge(t);
      if (s == null) continue;
      Verdict v = processVerdict(w, p, t, s, at);
      claimed += since;
      if (s.pages() || out.paging(v.dedupKey())) {
        claimedByPages += since;
        judged.add(p);
        add(w, out, p, v, t.baseline());
      } else {
        weak.put(p, new Weak(v, t.baseline()));
      }
    }

    Severity s = judge(host);
    // Where the host's growth pages, only a verdict that pages (or joins an incident that does)
    // names the leak: growth too slow to page claims nothing, or a leak spread over a few
    // processes would go unpaged as soon as each of them showed a little growth of its own.
    if (s != null) {
      if (s.pages()) hostVerdict(w, host, s, claimedByPages, sampled, judged, weak, at, out);
      else {
        // Otherwise every process with a trend of its own explains its part, as it always has.
        java.util.Set<ProcessWindow> all = new java.util.HashSet<>(judged);
        all.addAll(weak.keySet());
        hostVerdict(w, host, s, claimed, sampled, all, new HashMap<>(), at, out);
      }
    }
    // Growth too slow to page stays on record at INFO, unless the host's trend was carried to it.
    for (var e : weak.entrySet())
      add(w, out, e.getKey(), e.getValue().verdict(), e.getValue().from());
  }

  /** Adds a process's verdict, noting the level its CLOSE_WAIT grew from. */
  private static void add(HostWindow w, Outcome out, ProcessWindow p, Verdict v, double baseline) {
    out.add(v);
    w.baselines.merge(
        v.dedupKey(),
        new HostWindow.Baseline(
            baseline,
            p.closeWait.last(),
            HostWindow.processValue(p, q -> q.closeWait == null ? 0 : q.closeWait.last()),
            true),
        (old, nu) ->
            new HostWindow.Baseline(
                old.level(), Math.max(old.peak(), nu.peak()), nu.current(), true));
  }

  /**
   * The host's growth, when the processes whose verdicts page do not account for it: carried to the
   * one process that does, or paged for the host (spread, or held where the agent cannot see).
   *
   * @param weak processes with growth of their own too slow to page: one may carry the host's trend
   *     (its entry is removed then), and together they may be the spread
   */
  private void hostVerdict(
      HostWindow w,
      Trend host,
      Severity s,
      double claimed,
      double sampled,
      java.util.Set<ProcessWindow> judged,
      Map<ProcessWindow, Weak> weak,
      Instant at,
      Outcome out) {
    long first = buckets.first(w.lastBucket);
    long now = w.lastBucket;
    // The sampled processes that grew account for the host's growth: their verdicts are the page.
    if (claimed >= host.rise() / 2) return;
    double residual = host.rise() - claimed;
    long onset = host.onsetBucket();
    // One process accounts for it but has no trend of its own yet (its series is younger than the
    // host's): seen through the whole of the host's growth, it carries the host's trend.
    ProcessWindow top = null;
    for (ProcessWindow p : w.processes.values()) {
      if (p.closeWait == null || p.lastMs < w.lastMs || judged.contains(p)) continue;
      if (top == null || riseSince(p, onset) > riseSince(top, onset)) top = p;
    }
    if (top != null
        && riseSince(top, onset) >= residual / 2
        && (top.firstBucket <= onset + 1 || top.closeWait.minSince(onset) <= TOLERANCE)) {
      Severity carried = riseSince(top, onset) >= config.minGrowth() ? s : Severity.INFO;
      // A process with a trend of its own keeps it unless the host's makes it page.
      if (weak.containsKey(top) && !carried.pages()) return;
      weak.remove(top);
      add(w, out, top, processVerdict(w, top, host, carried, at), top.closeWait.minSince(onset));
      return;
    }
    // A process page already names the leak; what else moved is other processes' noise.
    if (claimed > 0) return;
    boolean hidden =
        w.socketsUnattributed >= residual / 2
            || (w.socketsUnattributed < 0 && w.processesUnreadable > 0);
    // Spread: processes that were there before the growth began (a level held before the onset
    // bucket, so that their rise is from what they held, not from their birth) and stayed up.
    double persistent = 0;
    List<ProcessWindow> stayed = new ArrayList<>();
    List<SeriesWindow> counts = new ArrayList<>();
    for (ProcessWindow p : w.processes.values()) {
      if (p.closeWait != null && p.lastMs == w.lastMs && p.firstBucket < onset) {
        double rise = riseSince(p, onset);
        if (rise <= 0) continue;
        persistent += rise;
        stayed.add(p);
        counts.add(p.closeWait);
      }
    }
    // Together they must show the growth the host's trend found, judged the same way: a worker
    // that went from zero to its working set and stayed there rose since the onset without growing
    // through it.
    boolean spread =
        !hidden
            && persistent >= residual / 2
            && trends
                .analyze(
                    SeriesSum.of(counts, w.closeWait, first, now, buckets),
                    first,
                    now,
                    minTrendMinutes(),
                    TOLERANCE,
                    true)
                .growing();
    // Neither hidden nor held by processes that stayed: short-lived processes came and went with
    // their sockets (closed when they exited). Nothing leaks.
    if (!hidden && !spread) return;
    double n = w.closeWait.last();
    Instant since = buckets.start(host.onsetBucket());
    String summary =
        w.host
            + ": "
            + count(n)
            + " CLOSE_WAIT sockets, "
            + rate(host.slopePerMin())
            + " since "
            + time(since)
            + (spread ? ", spread over sampled processes" : ", held by no sampled process");
    StringBuilder d =
        new StringBuilder("CLOSE_WAIT sockets on the host rose by ")
            .append(count(host.rise()))
            .append(" over ")
            .append(span(minutes(host.spanMinutes())))
            .append(" (")
            .append(rate(host.slopePerMin()))
            .append(") to ")
            .append(count(n))
            .append(". ");
    if (spread) {
      d.append(
          "No single process grew enough to page on its own; together the sampled processes"
              + " account for the growth: ");
      List<ProcessWindow> all = stayed;
      all.sort(
          Comparator.comparingDouble((ProcessWindow p) -> riseSince(p, host.onsetBucket()))
              .reversed());
      for (int i = 0; i < Math.min(5, all.size()); i++) {
        if (i > 0) d.append(", ");
        d.append(all.get(i).subject())
            .append(" +")
            .append(count(riseSince(all.get(i), host.onsetBucket())));
      }
      d.append('.');
    } else {
      d.append("The sampled processes account for ")
          .append(count(Math.min(sampled, host.rise())))
          .append(" of it: the owner is a process the agent could not read");
      if (w.processesUnreadable > 0) {
        d.append(" (")
            .append(count(w.processesUnreadable))
            .append(w.processesUnreadable == 1 ? " process" : " processes")
            .append(
                " could not be read: the agent lacks CAP_SYS_PTRACE/CAP_DAC_READ_SEARCH or runs"
                    + " as another user");
        if (w.socketsUnattributed >= 0) {
          d.append("; ")
              .append(count(w.socketsUnattributed))
              .append(" TCP sockets have no known owner");
        }
        d.append(')');
      } else {
        d.append(", in another network namespace, or outside its top processes");
        if (w.socketsUnattributed >= 0) {
          d.append(" (")
              .append(count(w.socketsUnattributed))
              .append(" TCP sockets have no known owner)");
        }
      }
      d.append('.');
    }
    d.append(
        " CLOSE_WAIT means the peer closed and the process never called close(); no kernel setting"
            + " clears it.");
    Verdict v =
        new Verdict(
            w.host,
            Kind.CLOSE_WAIT,
            w.host,
            s,
            at,
            minutes(host.spanMinutes()),
            host.slopePerMin(),
            n,
            null,
            null,
            since,
            Map.of(),
            summary,
            d.toString(),
            w.host + "/" + Kind.CLOSE_WAIT.tag() + "/" + w.host);
    out.add(v);
    w.baselines.merge(
        v.dedupKey(),
        new HostWindow.Baseline(host.baseline(), n, h -> h.closeWait.last(), true),
        (old, nu) ->
            new HostWindow.Baseline(
                old.level(), Math.max(old.peak(), nu.peak()), nu.current(), true));
  }

  /** How much a process's CLOSE_WAIT count rose since {@code onset} (from zero if born since). */
  private static double riseSince(ProcessWindow p, long onset) {
    if (p.closeWait == null) return 0;
    double then = p.closeWait.minSince(onset);
    // The lowest of the newest two buckets, not the newest sample: noise does not count as rise.
    double now = p.closeWait.minSince(p.closeWait.newestBucket() - 1);
    if (Double.isNaN(then) || Double.isNaN(now)) return 0;
    return Math.max(0, now - then);
  }

  private Verdict processVerdict(HostWindow w, ProcessWindow p, Trend t, Severity s, Instant at) {
    double n = p.closeWait.last();
    Instant since = buckets.start(t.onsetBucket());
    List<PeerGrowth> peers = peers(p, t.onsetBucket());
    Map<String, String> labels = new HashMap<>(p.labels());
    String towards = "";
    if (!peers.isEmpty()) {
      labels.put("remote", peers.getFirst().endpoint());
      towards = " to " + peers.getFirst().endpoint();
    }
    double fds = p.fds.last();
    Duration eta = null;
    if (!Double.isNaN(fds) && !Double.isNaN(p.softLimit) && t.slopePerMin() > 0) {
      eta = Duration.ofSeconds((long) Math.max(0, (p.softLimit - fds) / t.slopePerMin() * 60));
    }
    // Outgoing connections: each leaked socket also holds a local port towards its peer, and the
    // agent counts those ports. Whichever runs out first is the ETA.
    Duration portEta = null;
    HostWindow.PortWindow ports = peers.isEmpty() ? null : w.ports.get(peers.getFirst().endpoint());
    if (ports != null
        && ports.lastMs == w.lastMs
        && !Double.isNaN(w.portRange)
        && t.slopePerMin() > 0) {
      double free = w.portRange - ports.inUse.last();
      portEta = Duration.ofSeconds((long) Math.max(0, free / t.slopePerMin() * 60));
    }
    String summary =
        w.host
            + ": "
            + p.who()
            + " holds "
            + count(n)
            + " CLOSE_WAIT sockets"
            + towards
            + ", "
            + rate(t.slopePerMin())
            + " since "
            + time(since);
    StringBuilder d =
        new StringBuilder()
            .append(p.comm)
            .append(" (pid ")
            .append(Integer.toUnsignedString(p.pid))
            .append(") holds ")
            .append(count(n))
            .append(" CLOSE_WAIT sockets, up ")
            .append(count(t.rise()))
            .append(" since ")
            .append(time(since))
            .append(" (")
            .append(rate(t.slopePerMin()))
            .append(" over ")
            .append(span(minutes(t.spanMinutes())))
            .append(").");
    if (!peers.isEmpty()) {
      d.append(" Towards: ");
      for (int i = 0; i < Math.min(3, peers.size()); i++) {
        PeerGrowth g = peers.get(i);
        if (i > 0) d.append(", ");
        d.append(g.endpoint())
            .append(' ')
            .append(count(g.count()))
            .append(" (+")
            .append(count(g.grew()))
            .append(')');
      }
      d.append('.');
    }
    if (eta != null) {
      d.append(" Each holds an fd: ")
          .append(count(fds))
          .append(" fds open of its soft limit ")
          .append(count(p.softLimit))
          .append(", exhausted in ")
          .append(eta(eta))
          .append(" at this rate.");
    }
    if (portEta != null) {
      d.append(" Each also holds a local port towards ")
          .append(peers.getFirst().endpoint())
          .append(": ")
          .append(count(ports.inUse.last()))
          .append(" of ")
          .append(count(w.portRange))
          .append(" in ip_local_port_range, exhausted in ")
          .append(eta(portEta))
          .append(" at this rate.");
      if (eta == null || portEta.compareTo(eta) < 0) eta = portEta;
    }
    d.append(
        " The peer closed and the process never called close(): a bug in the process; no kernel"
            + " setting clears it, a restart does.");
    return new Verdict(
        w.host,
        Kind.CLOSE_WAIT,
        p.subject(),
        s,
        at,
        minutes(t.spanMinutes()),
        t.slopePerMin(),
        n,
        Double.isNaN(p.softLimit) ? null : p.softLimit,
        eta,
        since,
        labels,
        summary,
        d.toString(),
        w.host + "/" + Kind.CLOSE_WAIT.tag() + "/" + p.identity());
  }

  /** The process's CLOSE_WAIT peers, most grown since the onset first. */
  private static List<PeerGrowth> peers(ProcessWindow p, long onset) {
    List<PeerGrowth> out = new ArrayList<>(p.peers.size());
    for (var e : p.peers.entrySet()) {
      SeriesWindow s = e.getValue();
      if (s.lastMs() < p.lastMs) continue; // not among this sample's peers
      double then = s.minSince(onset);
      double grew = Double.isNaN(then) ? s.last() : s.last() - then;
      out.add(new PeerGrowth(e.getKey(), s.last(), grew));
    }
    out.sort(
        Comparator.comparingDouble(PeerGrowth::grew)
            .thenComparingDouble(PeerGrowth::count)
            .reversed());
    return out;
  }

  private static Duration minutes(double m) {
    return Duration.ofSeconds((long) (m * 60));
  }
}
