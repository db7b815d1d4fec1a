package io.handlewatch.collector.detect.evaluation;

import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Netdata's alarms on the kernel tables, computed on a trace's samples: the rules of Debian's
 * netdata 1.37.1 ({@code netdata-core}, /usr/lib/netdata/conf.d/health.d), which read live /proc
 * and cannot be fed a recorded trace, so their {@code lookup}, {@code calc}, {@code warn} and
 * {@code crit} lines are evaluated here, every 10 s as Netdata's {@code every: 10s} does, on the
 * same samples handlewatch judges. Only raising matters for a first page (the hysteresis in each
 * rule lowers the threshold once raised; {@code delay: down} delays clearing only):
 *
 * <ul>
 *   <li>netfilter.conf {@code netfilter_conntrack_full}: max over 10 s of entries × 100 / max;
 *       warning above 90, critical above 95.
 *   <li>tcp_orphans.conf {@code tcp_orphans}: orphans × 100 / tcp_max_orphans; warning above 25,
 *       critical above 50 ("the kernel may penalize orphans by 2x or even 4x").
 *   <li>tcp_mem.conf {@code tcp_memory}: warning when TCP memory pages exceed tcp_mem's pressure,
 *       critical above 90 % of its high (max).
 *   <li>tcp_listen.conf {@code 1m_tcp_accept_queue_overflows}: the average rate of ListenOverflows
 *       per second over the last 60 s; warning above 1, critical above 5.
 * </ul>
 */
final class NetdataBaseline {
  /** Netdata's first alarm on a trace: when, which alarm, its status. */
  record Alarm(Instant at, String alarm, String severity) {}

  private record Counter(long ms, double value) {}

  private NetdataBaseline() {}

  /** The first alarm raised over the trace, or null. */
  static Alarm firstAlarm(Trace trace) {
    Map<String, String> sysctls = new HashMap<>();
    ArrayDeque<Counter> overflows = new ArrayDeque<>();
    ArrayDeque<Counter> conntrack = new ArrayDeque<>();
    for (HostReport r : trace.reports()) {
      HostSample s = r.getSample();
      long ms = s.getTime().getSeconds() * 1000 + s.getTime().getNanos() / 1_000_000;
      Instant at = Instant.ofEpochMilli(ms);
      if (s.getSysctlsCount() > 0) {
        sysctls.clear();
        for (Sysctl sc : s.getSysctlsList()) sysctls.put(sc.getName(), sc.getValue().strip());
      }
      if (s.hasConntrack() && s.getConntrack().hasCount() && s.getConntrack().hasMax()) {
        conntrack.addLast(new Counter(ms, s.getConntrack().getCount()));
        while (conntrack.peekFirst().ms() < ms - 10_000) conntrack.removeFirst();
        double max = 0;
        for (Counter c : conntrack) max = Math.max(max, c.value());
        double pct = max * 100 / s.getConntrack().getMax();
        if (pct > 95) return new Alarm(at, "netfilter_conntrack_full", "critical");
        if (pct > 90) return new Alarm(at, "netfilter_conntrack_full", "warning");
      }
      double maxOrphans = number(sysctls.get("net.ipv4.tcp_max_orphans"));
      if (s.getSockstat().hasTcpOrphan() && maxOrphans > 0) {
        double pct = s.getSockstat().getTcpOrphan() * 100.0 / maxOrphans;
        if (pct > 50) return new Alarm(at, "tcp_orphans", "critical");
        if (pct > 25) return new Alarm(at, "tcp_orphans", "warning");
      }
      String[] mem = sysctls.getOrDefault("net.ipv4.tcp_mem", "").split("\\s+");
      if (s.getSockstat().hasTcpMemPages() && mem.length == 3) {
        double pages = s.getSockstat().getTcpMemPages();
        if (pages > 0.9 * number(mem[2])) return new Alarm(at, "tcp_memory", "critical");
        if (pages > number(mem[1])) return new Alarm(at, "tcp_memory", "warning");
      }
      if (s.getTcpCounters().hasListenOverflows()) {
        overflows.addLast(new Counter(ms, s.getTcpCounters().getListenOverflows()));
        while (overflows.peekFirst().ms() < ms - 60_000) overflows.removeFirst();
        Counter first = overflows.peekFirst();
        if (overflows.size() > 1 && ms > first.ms()) {
          double perSecond =
              (overflows.peekLast().value() - first.value()) * 1000 / (ms - first.ms());
          if (perSecond > 5) return new Alarm(at, "1m_tcp_accept_queue_overflows", "critical");
          if (perSecond > 1) return new Alarm(at, "1m_tcp_accept_queue_overflows", "warning");
        }
      }
    }
    return null;
  }

  private static double number(String v) {
    if (v == null) return Double.NaN;
    try {
      return Long.parseLong(v.strip());
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }
}
