package io.handlewatch.collector.detect;

import static io.handlewatch.collector.detect.EvidenceText.count;
import static io.handlewatch.collector.detect.EvidenceText.percent;

import io.handlewatch.proto.v1.HostSample;
import java.time.Instant;
import java.util.Map;

/**
 * Ephemeral port pressure: local ports in use towards one remote endpoint against the width of
 * ip_local_port_range (connect() fails with EADDRNOTAVAIL when they run out), and TIME_WAIT sockets
 * against net.ipv4.tcp_max_tw_buckets (past it the kernel destroys them early and logs "time wait
 * bucket table overflow").
 */
final class PortPressureRule implements Rule {
  static final String TW_BUCKETS = "net.ipv4.tcp_max_tw_buckets";

  /** Port use churns with traffic; a handful either way is no change. */
  private static final double TOLERANCE = 5;

  private final Buckets buckets;
  private final EnvelopeTrend trends;
  private final ExhaustionJudge ports;
  private final ExhaustionJudge timeWait;

  PortPressureRule(DetectionConfig config, Buckets buckets, EnvelopeTrend trends) {
    this.buckets = buckets;
    this.trends = trends;
    this.ports = new ExhaustionJudge(config.ports());
    this.timeWait = new ExhaustionJudge(config.timeWaitBuckets());
  }

  @Override
  public void evaluate(HostWindow w, HostSample sample, Instant at, Outcome out) {
    long now = w.lastBucket;
    long first = buckets.first(now);
    for (var e : w.ports.entrySet()) {
      HostWindow.PortWindow p = e.getValue();
      if (p.lastMs < w.lastMs) continue;
      String remote = e.getKey();
      double inUse = p.inUse.last();
      Trend trend = trends.analyze(p.inUse, first, now, ports.minTrendMinutes(), TOLERANCE);
      var j = ports.judge(trend, inUse, w.portRange);
      if (j.severity() == null) continue;
      String summary =
          w.host
              + ": "
              + count(inUse)
              + " local ports in use towards "
              + remote
              + " of "
              + count(w.portRange)
              + " in ip_local_port_range ("
              + percent(inUse, w.portRange)
              + ")"
              + HandleExhaustionRule.growthClause(trend, j.eta());
      String description =
          "Sockets from this host to "
              + remote
              + " on ephemeral local ports: "
              + count(inUse)
              + ", "
              + count(p.timeWait)
              + " of them in TIME_WAIT (each holds its port for 60 s). One remote endpoint can"
              + " have at most as many connections from one local address as the range is wide ("
              + count(w.portRange)
              + "); then connect() fails with EADDRNOTAVAIL. "
              + HandleExhaustionRule.trendSentence(trend, j.eta(), "ports", buckets)
              + " Remedies: connection reuse (keep-alive, pooling), a wider ip_local_port_range,"
              + " more local addresses, or tcp_tw_reuse for outgoing connections.";
      HandleExhaustionRule.track(
          w,
          trend,
          w.host + "/" + Kind.PORT_PRESSURE.tag() + "/" + remote,
          inUse,
          h -> {
            HostWindow.PortWindow pw = h.ports.get(remote);
            return pw == null || pw.lastMs < h.lastMs ? 0 : pw.inUse.last();
          });
      out.add(
          HandleExhaustionRule.verdict(
              w,
              Kind.PORT_PRESSURE,
              remote,
              j,
              at,
              trend,
              inUse,
              w.portRange,
              Map.of("remote", remote),
              summary,
              description,
              remote,
              buckets));
    }

    double cap = parse(w.sysctls.get(TW_BUCKETS));
    if (w.timeWait.lastMs() != w.lastMs || Double.isNaN(cap)) return;
    double tw = w.timeWait.last();
    Trend trend = trends.analyze(w.timeWait, first, now, timeWait.minTrendMinutes(), TOLERANCE);
    var j = timeWait.judge(trend, tw, cap);
    if (j.severity() == null) return;
    String summary =
        w.host
            + ": "
            + count(tw)
            + " TIME_WAIT sockets of tcp_max_tw_buckets "
            + count(cap)
            + " ("
            + percent(tw, cap)
            + ")"
            + HandleExhaustionRule.growthClause(trend, j.eta());
    String description =
        "TIME_WAIT sockets: "
            + count(tw)
            + " of net.ipv4.tcp_max_tw_buckets "
            + count(cap)
            + ". Past it the kernel destroys new TIME_WAIT sockets at once and logs \"time wait"
            + " bucket table overflow\": late segments of old connections can then corrupt new"
            + " ones. "
            + HandleExhaustionRule.trendSentence(trend, j.eta(), "sockets", buckets)
            + " TIME_WAIT sits on the side that closes first: let clients close, or reuse"
            + " connections.";
    out.add(
        HandleExhaustionRule.verdict(
            w,
            Kind.TIME_WAIT_BUCKETS,
            w.host,
            j,
            at,
            trend,
            tw,
            cap,
            Map.of(),
            summary,
            description,
            w.host,
            buckets));
  }

  static double parse(String v) {
    if (v == null) return Double.NaN;
    try {
      return Long.parseLong(v.strip());
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }
}
