package io.handlewatch.collector.detect;

import static io.handlewatch.collector.detect.EvidenceText.count;

import io.handlewatch.proto.v1.HostSample;
import java.time.Instant;
import java.util.Map;

/**
 * Sysctl findings: settings that make TCP or fd trouble likely, informational (they never page).
 * Judged on the host's newest known sysctls and sample.
 */
final class SysctlFindingRule implements Rule {
  static final String TW_RECYCLE = "net.ipv4.tcp_tw_recycle";
  static final String SOMAXCONN = "net.core.somaxconn";
  static final String FIN_TIMEOUT = "net.ipv4.tcp_fin_timeout";
  static final String PORT_RANGE = "net.ipv4.ip_local_port_range";

  /** The kernel's default tcp_fin_timeout, and TIME_WAIT's fixed length, in seconds. */
  private static final long FIN_TIMEOUT_DEFAULT = 60;

  /** The soft nofile limit most distributions start processes with. */
  private static final long DEFAULT_SOFT_NOFILE = 1024;

  private final DetectionConfig.Findings config;

  SysctlFindingRule(DetectionConfig config) {
    this.config = config.findings();
  }

  @Override
  public void evaluate(HostWindow w, HostSample sample, Instant at, Outcome out) {
    Map<String, String> sc = w.sysctls;
    String recycle = sc.get(TW_RECYCLE);
    if (recycle != null && !recycle.strip().equals("0")) {
      out.add(
          finding(
              w,
              Kind.TCP_TW_RECYCLE,
              TW_RECYCLE,
              at,
              PortPressureRule.parse(recycle),
              TW_RECYCLE + " = " + recycle.strip(),
              "tcp_tw_recycle drops SYNs whose timestamps go backwards, which is what clients"
                  + " behind one NAT address send: they see connections time out at random. Linux"
                  + " removed it in 4.12; set it to 0 (tcp_tw_reuse = 1 is the safe way to reuse"
                  + " TIME_WAIT ports for outgoing connections)."));
    }
    double somaxconn = PortPressureRule.parse(sc.get(SOMAXCONN));
    if (somaxconn < config.minSomaxconn()) {
      out.add(
          finding(
              w,
              Kind.LOW_SOMAXCONN,
              SOMAXCONN,
              at,
              somaxconn,
              SOMAXCONN + " = " + count(somaxconn) + ", below " + count(config.minSomaxconn()),
              "somaxconn caps every listen() backlog: under a burst of connections the accept"
                  + " queue overflows and SYNs are dropped (clients retry after 1 s, 3 s, ...)."
                  + " Kernels since 5.4 default to 4096."));
    }
    double fin = PortPressureRule.parse(sc.get(FIN_TIMEOUT));
    if (fin < FIN_TIMEOUT_DEFAULT) {
      out.add(
          finding(
              w,
              Kind.FIN_TIMEOUT,
              FIN_TIMEOUT,
              at,
              fin,
              FIN_TIMEOUT + " = " + count(fin) + " does not shorten TIME_WAIT",
              "tcp_fin_timeout only limits how long an orphaned connection waits in FIN_WAIT2;"
                  + " TIME_WAIT lasts 60 s whatever it says (fixed in the kernel). If it was"
                  + " lowered to fight TIME_WAIT, it did not: reuse connections, or enable"
                  + " tcp_tw_reuse for outgoing ones."));
    }
    for (ProcessWindow p : w.processes.values()) {
      if (p.lastMs < w.lastMs || !(p.softLimit <= DEFAULT_SOFT_NOFILE)) continue;
      if (!(p.tcpSockets >= config.socketHeavyProcess())) continue;
      out.add(
          finding(
              w,
              Kind.LOW_NOFILE,
              p.subject(),
              at,
              p.softLimit,
              p.subject()
                  + " holds "
                  + count(p.tcpSockets)
                  + " TCP sockets with a soft nofile"
                  + " limit of "
                  + count(p.softLimit),
              p.comm
                  + " (pid "
                  + Integer.toUnsignedString(p.pid)
                  + ") serves sockets on the default soft RLIMIT_NOFILE of "
                  + count(p.softLimit)
                  + ": a burst or a small leak takes it to EMFILE. Raise LimitNOFILE= in its"
                  + " systemd unit (or ulimit -n) well above its peak."));
    }
    for (var e : w.ports.entrySet()) {
      HostWindow.PortWindow pw = e.getValue();
      if (pw.lastMs < w.lastMs || Double.isNaN(w.portRange)) continue;
      if (pw.timeWait < config.timeWaitShareOfPortRange() * w.portRange) continue;
      out.add(
          finding(
              w,
              Kind.NARROW_PORT_RANGE,
              e.getKey(),
              at,
              w.portRange,
              PORT_RANGE
                  + " ("
                  + count(w.portRange)
                  + " ports) is narrow for the TIME_WAIT churn towards "
                  + e.getKey(),
              count(pw.timeWait)
                  + " sockets to "
                  + e.getKey()
                  + " are in TIME_WAIT: about "
                  + count(pw.timeWait / 60)
                  + " new connections per second, each holding its local port for 60 s, against"
                  + " a range that allows "
                  + count(w.portRange / 60)
                  + " per second to one endpoint. Widen the range, or reuse connections."));
    }
  }

  static Verdict finding(
      HostWindow w,
      Kind kind,
      String subject,
      Instant at,
      double value,
      String summary,
      String description) {
    return new Verdict(
        w.host,
        kind,
        subject,
        Severity.INFO,
        at,
        null,
        null,
        value,
        null,
        null,
        null,
        Map.of(),
        w.host + ": " + summary,
        description,
        w.host + "/" + kind.tag() + "/" + subject);
  }
}
