package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ProcessSample;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The node-mixin way, as prometheus/node_exporter's docs/node-mixin/alerts/alerts.libsonnet alerts
 * on running out of something, applied to fds against their limit (each process's soft limit, and
 * file-nr against file-max), evaluated at every sample as Prometheus would at a 10 s interval:
 *
 * <ul>
 *   <li>NodeFileDescriptorLimit: used &gt; 70 % for 15m (warning), &gt; 90 % for 15m (critical).
 *   <li>The *FillingUp shape: used &gt; 60 % and {@code predict_linear(used[W], 24h)} past the
 *       limit, for 1h (warning); used &gt; 80 % and {@code predict_linear(used[W], 4h)} past it,
 *       for 1h (critical). predict_linear is least squares over the samples in the window W (the
 *       same window as ours, 30 min; node-mixin uses 6h, which reacts later still).
 * </ul>
 *
 * <p>Conntrack: NodeHighNumberConntrackEntriesUsed, entries above 75 % of nf_conntrack_max at any
 * one evaluation (no {@code for}), warning.
 *
 * <p>It has no CLOSE_WAIT rule; a CLOSE_WAIT leak reaches it only through the fds it holds. It has
 * no rule on orphans, TCP memory or accept queues.
 */
final class NodeMixinBaseline {
  /** Its first page on a trace: when, for which series, and the ETA predict_linear implied. */
  record Page(Instant at, String subject, String severity, Duration impliedEta) {}

  private record Sample(long ms, double value) {}

  /** One series (a process's fds, or file-nr) with its rule state. */
  private static final class Series {
    final ArrayDeque<Sample> window = new ArrayDeque<>();
    final long[] pendingSince = {-1, -1, -1, -1};
  }

  private static final long[] HOLD = {
    Duration.ofMinutes(15).toMillis(),
    Duration.ofMinutes(15).toMillis(),
    Duration.ofHours(1).toMillis(),
    Duration.ofHours(1).toMillis()
  };
  private static final String[] SEVERITY = {"warning", "critical", "warning", "critical"};

  private final long windowMs;
  private final Map<String, Series> series = new HashMap<>();

  NodeMixinBaseline(Duration window) {
    this.windowMs = window.toMillis();
  }

  /** The first page over the trace, or null if it never pages. */
  Page firstPage(Trace trace) {
    for (HostReport r : trace.reports()) {
      var s = r.getSample();
      long ms = s.getTime().getSeconds() * 1000 + s.getTime().getNanos() / 1_000_000;
      for (ProcessSample p : s.getProcessesList()) {
        String subject = p.getComm() + "[" + p.getPid() + "]";
        Page page =
            observe(subject + "@" + p.getStartTicks(), subject, ms, p.getFds(), p.getSoftLimit());
        if (page != null) return page;
      }
      var fh = s.getFileHandles();
      Page page = observe("file-nr", trace.host(), ms, fh.getAllocated(), fh.getMax());
      if (page != null) return page;
      // NodeHighNumberConntrackEntriesUsed: entries above 75 % of the limit, no `for`.
      var ct = s.getConntrack();
      if (ct.hasCount() && ct.hasMax() && ct.getMax() > 0 && ct.getCount() > 0.75 * ct.getMax()) {
        return new Page(java.time.Instant.ofEpochMilli(ms), trace.host(), "warning", null);
      }
    }
    return null;
  }

  private Page observe(String key, String subject, long ms, double value, double limit) {
    Series s = series.computeIfAbsent(key, k -> new Series());
    s.window.addLast(new Sample(ms, value));
    while (s.window.peekFirst().ms < ms - windowMs) s.window.removeFirst();
    double used = value / limit;
    double[] fit = leastSquares(s.window, ms);
    double slopePerMs = fit[1];
    boolean[] condition = {
      used > 0.70,
      used > 0.90,
      used > 0.60 && fit[0] + slopePerMs * Duration.ofHours(24).toMillis() >= limit,
      used > 0.80 && fit[0] + slopePerMs * Duration.ofHours(4).toMillis() >= limit,
    };
    for (int i = 0; i < condition.length; i++) {
      if (!condition[i]) {
        s.pendingSince[i] = -1;
        continue;
      }
      if (s.pendingSince[i] < 0) s.pendingSince[i] = ms;
      if (ms - s.pendingSince[i] >= HOLD[i]) {
        Duration eta =
            slopePerMs > 0
                ? Duration.ofMillis((long) Math.max(0, (limit - fit[0]) / slopePerMs))
                : null;
        return new Page(java.time.Instant.ofEpochMilli(ms), subject, SEVERITY[i], eta);
      }
    }
    return null;
  }

  /** Least squares over the window: {value at now, slope per ms}, as predict_linear computes. */
  private static double[] leastSquares(ArrayDeque<Sample> window, long now) {
    int n = window.size();
    if (n < 2) return new double[] {window.peekLast().value, 0};
    double sx = 0;
    double sy = 0;
    double sxx = 0;
    double sxy = 0;
    for (Sample p : window) {
      double x = p.ms - now;
      sx += x;
      sy += p.value;
      sxx += x * x;
      sxy += x * p.value;
    }
    double cov = sxy - sx * sy / n;
    double var = sxx - sx * sx / n;
    double slope = var == 0 ? 0 : cov / var;
    double intercept = sy / n - slope * sx / n;
    return new double[] {intercept, slope};
  }
}
