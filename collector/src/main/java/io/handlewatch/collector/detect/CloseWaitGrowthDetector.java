package io.handlewatch.collector.detect;

import static io.handlewatch.collector.detect.EvidenceText.count;
import static io.handlewatch.collector.detect.EvidenceText.eta;
import static io.handlewatch.collector.detect.EvidenceText.rate;
import static io.handlewatch.collector.detect.EvidenceText.span;
import static io.handlewatch.collector.detect.EvidenceText.time;

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
final class CloseWaitGrowthDetector {
  private static final double TOLERANCE = 2;

  /** A peer's growth since the onset. */
  private record PeerGrowth(String endpoint, double count, double grew) {}

  private final Buckets buckets;
  private final EnvelopeTrend trends;
  private final DetectionFactory.CloseWait config;

  CloseWaitGrowthDetector(DetectionFactory config, Buckets buckets, EnvelopeTrend trends) {
    this.buckets = buckets;
    this.trends = trends;
    this.config = config.closeWait;
  }

  private double minTrendMinutes() {
    return config.minTrend.toMilliseconds() / 60_000.0;
  }

  /** Whether a trend is growth that pages, or (null) no verdict at all. */
  private Severity judge(Trend t) {
    if (!t.growing()) return null;
    if (t.rise() >= config.minGrowth && t.slopePerMin() >= config.minRatePerMinute) {
      return Severity.CRITICAL;
    }
    return Severity.INFO;
  }

  void evaluate(HostWindow w, Instant at, List<Verdict> out) {
    long now = w.lastBucket;
    long first = buckets.first(now);
    double attributedSlope = 0;
    for (ProcessWindow p : w.processes.values()) {
      if (p.closeWait == null || p.lastMs < w.lastMs) continue;
      Trend t = trends.analyze(p.closeWait, first, now, minTrendMinutes(), TOLERANCE);
      Severity s = judge(t);
      if (s == null) continue;
      attributedSlope += t.slopePerMin();
      out.add(processVerdict(w, p, t, s, at));
    }

    if (w.closeWait.lastMs() != w.lastMs) return;
    Trend t = trends.analyze(w.closeWait, first, now, minTrendMinutes(), TOLERANCE);
    Severity s = judge(t);
    if (s == null || attributedSlope >= t.slopePerMin() / 2) return;
    double n = w.closeWait.last();
    Instant since = buckets.start(t.onsetBucket());
    String summary =
        w.host
            + ": "
            + count(n)
            + " CLOSE_WAIT sockets, "
            + rate(t.slopePerMin())
            + " since "
            + time(since)
            + ", held by no sampled process";
    String description =
        "CLOSE_WAIT sockets on the host rose by "
            + count(t.rise())
            + " over "
            + span(minutes(t.spanMinutes()))
            + " ("
            + rate(t.slopePerMin())
            + ") to "
            + count(n)
            + ", and the processes in the sample account for less than half of it: the owner is"
            + " probably a process the agent cannot read (see the sample's process_walk) or"
            + " outside its top processes. CLOSE_WAIT means the peer closed and the process never"
            + " called close(); no kernel setting clears it.";
    out.add(
        new Verdict(
            w.host,
            Kind.CLOSE_WAIT,
            w.host,
            s,
            at,
            minutes(t.spanMinutes()),
            t.slopePerMin(),
            n,
            null,
            null,
            since,
            Map.of(),
            summary,
            description,
            w.host + "/" + Kind.CLOSE_WAIT.tag() + "/" + w.host));
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
