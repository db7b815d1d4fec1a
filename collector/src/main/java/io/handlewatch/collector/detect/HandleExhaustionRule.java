package io.handlewatch.collector.detect;

import static io.handlewatch.collector.detect.EvidenceText.count;
import static io.handlewatch.collector.detect.EvidenceText.eta;
import static io.handlewatch.collector.detect.EvidenceText.percent;
import static io.handlewatch.collector.detect.EvidenceText.rate;
import static io.handlewatch.collector.detect.EvidenceText.span;
import static io.handlewatch.collector.detect.EvidenceText.time;

import io.handlewatch.proto.v1.HostSample;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * File handle exhaustion: each sampled process's open fds against its soft RLIMIT_NOFILE (where
 * EMFILE strikes first), and the host's file-nr against fs.file-max.
 */
final class HandleExhaustionRule implements Rule {
  /** Counts jitter by a few fds from one sample to the next without anything happening. */
  private static final double TOLERANCE = 2;

  private final Buckets buckets;
  private final EnvelopeTrend trends;
  private final ExhaustionJudge process;
  private final ExhaustionJudge system;

  HandleExhaustionRule(DetectionConfig config, Buckets buckets, EnvelopeTrend trends) {
    this.buckets = buckets;
    this.trends = trends;
    this.process = new ExhaustionJudge(config.processFds());
    this.system = new ExhaustionJudge(config.systemFds());
  }

  @Override
  public void evaluate(HostWindow w, HostSample sample, Instant at, Outcome out) {
    long now = w.lastBucket;
    long first = buckets.first(now);
    for (ProcessWindow p : w.processes.values()) {
      if (p.lastMs < w.lastMs) continue; // not in this sample: no claim about it now
      double fds = p.fds.last();
      Trend trend =
          trends.analyze(
              p.fds, first, now, process.minTrendMinutes(), TOLERANCE, p.firstMs > w.firstMs);
      var j = process.judge(trend, fds, p.softLimit);
      if (j.severity() == null) continue;
      String what = p.comm + " (pid " + Integer.toUnsignedString(p.pid) + ")";
      String summary =
          w.host
              + ": "
              + p.who()
              + " has "
              + count(fds)
              + " fds open of its soft limit "
              + count(p.softLimit)
              + " ("
              + percent(fds, p.softLimit)
              + ")"
              + growthClause(trend, j.eta());
      String description =
          "Open file descriptors of "
              + what
              + ": "
              + count(fds)
              + " of its soft RLIMIT_NOFILE "
              + count(p.softLimit)
              + "; it fails with EMFILE (Too many open files) there. "
              + trendSentence(trend, j.eta(), "fds", buckets)
              + closeWaitShare(p);
      track(
          w,
          trend,
          w.host + "/" + Kind.PROCESS_FDS.tag() + "/" + p.identity(),
          fds,
          HostWindow.processValue(p, q -> q.fds.last()));
      out.add(
          verdict(
              w,
              Kind.PROCESS_FDS,
              p.subject(),
              j,
              at,
              trend,
              fds,
              p.softLimit,
              p.labels(),
              summary,
              description,
              p.identity(),
              buckets));
    }

    double allocated = w.systemFds.last();
    if (w.systemFds.lastMs() == w.lastMs) {
      Trend trend = trends.analyze(w.systemFds, first, now, system.minTrendMinutes(), TOLERANCE);
      var j = system.judge(trend, allocated, w.fileMax);
      if (j.severity() != null) {
        String summary =
            w.host
                + ": "
                + count(allocated)
                + " file handles allocated of fs.file-max "
                + count(w.fileMax)
                + " ("
                + percent(allocated, w.fileMax)
                + ")"
                + growthClause(trend, j.eta());
        String description =
            "System-wide file handles (/proc/sys/fs/file-nr): "
                + count(allocated)
                + " allocated of fs.file-max "
                + count(w.fileMax)
                + "; past it every process's open() fails with ENFILE. "
                + trendSentence(trend, j.eta(), "handles", buckets);
        track(
            w,
            trend,
            w.host + "/" + Kind.SYSTEM_FDS.tag() + "/" + w.host,
            allocated,
            h -> h.systemFds.last());
        out.add(
            verdict(
                w,
                Kind.SYSTEM_FDS,
                w.host,
                j,
                at,
                trend,
                allocated,
                w.fileMax,
                Map.of(),
                summary,
                description,
                w.host,
                buckets));
      }
    }
  }

  /**
   * Notes what a growing value grew from, so that its incident resolves once it is back there (fds
   * and ports are freed by a restart or a fix: no handle stays behind to keep it open).
   */
  static void track(
      HostWindow w,
      Trend trend,
      String dedupKey,
      double value,
      java.util.function.ToDoubleFunction<HostWindow> current) {
    if (!trend.growing()) return;
    w.baselines.merge(
        dedupKey,
        new HostWindow.Baseline(trend.baseline(), value, current, false),
        (old, nu) ->
            new HostWindow.Baseline(old.level(), Math.max(old.peak(), value), current, false));
  }

  static String growthClause(Trend trend, Duration eta) {
    if (eta == null) return "";
    return ", " + rate(trend.slopePerMin()) + ": exhausted in " + eta(eta);
  }

  /** The trend and its ETA as a sentence, or why there is none. */
  static String trendSentence(Trend trend, Duration eta, String unit, Buckets buckets) {
    if (eta == null) return "No sustained growth in the last " + span(buckets.window()) + ".";
    Instant since = buckets.start(trend.onsetBucket());
    return "Rising "
        + rate(trend.slopePerMin())
        + " since "
        + time(since)
        + " (lower envelope +"
        + count(trend.rise())
        + " "
        + unit
        + " over "
        + span(Duration.ofSeconds((long) (trend.spanMinutes() * 60)))
        + ", Theil–Sen): the limit is reached in "
        + eta(eta)
        + ".";
  }

  private static String closeWaitShare(ProcessWindow p) {
    if (p.closeWait == null || !(p.closeWait.last() > 0)) return "";
    return " " + count(p.closeWait.last()) + " of its fds are CLOSE_WAIT sockets.";
  }

  /** A verdict from a judgement, with the trend's evidence when it is growing. */
  static Verdict verdict(
      HostWindow w,
      Kind kind,
      String subject,
      ExhaustionJudge.Judgement j,
      Instant at,
      Trend trend,
      double value,
      double limit,
      Map<String, String> labels,
      String summary,
      String description,
      String identity,
      Buckets buckets) {
    boolean growing = j.eta() != null;
    return new Verdict(
        w.host,
        kind,
        subject,
        j.severity(),
        at,
        growing ? Duration.ofSeconds((long) (trend.spanMinutes() * 60)) : buckets.window(),
        growing ? trend.slopePerMin() : null,
        value,
        limit,
        j.eta(),
        growing ? buckets.start(trend.onsetBucket()) : null,
        labels,
        summary,
        description,
        w.host + "/" + kind.tag() + "/" + identity);
  }
}
