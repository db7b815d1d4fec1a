package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.handlewatch.collector.detect.KernelLimits;
import io.handlewatch.collector.detect.Severity;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Listener;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.Sysctl;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The host view's kernel tables: each table's use against its limit from the latest sample and the
 * host's known sysctls, with the ETA and severity of its verdict when the detector has one.
 */
final class KernelTables {
  private KernelTables() {}

  /**
   * One table.
   *
   * @param table {@code conntrack}, {@code orphans}, {@code tcp_memory}, {@code accept_queue} or
   *     {@code syn_queue} (the verdict kind that judges it)
   * @param subject the host, a network namespace's conntrack as {@code netns NAME (owner)}, or for
   *     an accept or SYN queue its listener as {@code comm[pid] address}
   * @param used entries, sockets, pages or queued connections now
   * @param limit what it runs into (nf_conntrack_max, tcp_max_orphans, tcp_mem max, the backlog,
   *     the SYN queue's cap); absent when unknown
   * @param pressure tcp_mem's pressure threshold (tcp_memory only)
   * @param usedPercent used of limit, percent
   * @param etaSeconds time to the limit at the current trend, from its verdict
   * @param severity its verdict's severity, when there is one
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Table(
      String table,
      String subject,
      double used,
      Double limit,
      Double pressure,
      Double usedPercent,
      Double etaSeconds,
      Severity severity) {}

  static List<Table> of(String host, HostSample s, List<VerdictView> verdicts) {
    Map<String, String> sysctls = new HashMap<>();
    for (Sysctl sc : s.getSysctlsList()) sysctls.put(sc.getName(), sc.getValue().strip());
    Map<String, VerdictView> judged = new HashMap<>();
    for (VerdictView v : verdicts) judged.putIfAbsent(v.kind() + "\0" + v.subject(), v);
    List<Table> out = new ArrayList<>();
    if (s.hasConntrack() && s.getConntrack().hasCount()) {
      Double max =
          s.getConntrack().hasMax()
              ? Double.valueOf(s.getConntrack().getMax())
              : number(sysctls.get("net.netfilter.nf_conntrack_max"));
      out.add(table(judged, "conntrack", host, s.getConntrack().getCount(), max, null));
    }
    // Each other namespace's own table, held to the same global nf_conntrack_max.
    for (NamespaceSockets ns : s.getTcp().getNamespacesList()) {
      if (ns.getHost() || !ns.hasConntrack() || !ns.getConntrack().hasCount()) continue;
      Double max =
          ns.getConntrack().hasMax()
              ? Double.valueOf(ns.getConntrack().getMax())
              : number(sysctls.get("net.netfilter.nf_conntrack_max"));
      out.add(
          table(
              judged,
              "conntrack",
              KernelLimits.namespaceSubject(ns),
              ns.getConntrack().getCount(),
              max,
              null));
    }
    if (s.hasSockstat() && s.getSockstat().hasTcpOrphan()) {
      out.add(
          table(
              judged,
              "orphans",
              host,
              s.getSockstat().getTcpOrphan(),
              number(sysctls.get("net.ipv4.tcp_max_orphans")),
              null));
    }
    if (s.hasSockstat() && s.getSockstat().hasTcpMemPages()) {
      String[] mem = sysctls.getOrDefault("net.ipv4.tcp_mem", "").split("\\s+");
      Double pressure = mem.length == 3 ? number(mem[1]) : null;
      Double max = mem.length == 3 ? number(mem[2]) : null;
      out.add(table(judged, "tcp_memory", host, s.getSockstat().getTcpMemPages(), max, pressure));
    }
    for (Listener l : s.getListenQueues().getListenersList()) {
      String subject =
          (l.hasComm() ? l.getComm() : "?")
              + (l.hasPid() ? "[" + Integer.toUnsignedString(l.getPid()) + "]" : "")
              + " "
              + l.getLocal();
      out.add(
          table(
              judged,
              "accept_queue",
              subject,
              l.getQueue(),
              l.getBacklog() > 0 ? (double) l.getBacklog() : null,
              null));
      long synCap =
          KernelLimits.synQueueCap(
              l.getBacklog(),
              sysctls.get("net.ipv4.tcp_syncookies"),
              sysctls.get("net.ipv4.tcp_max_syn_backlog"));
      if (l.getSynRecv() > 0 || judged.containsKey("syn_queue\0" + subject)) {
        out.add(
            table(
                judged,
                "syn_queue",
                subject,
                l.getSynRecv(),
                synCap > 0 ? (double) synCap : null,
                null));
      }
    }
    return out;
  }

  private static Table table(
      Map<String, VerdictView> judged,
      String kind,
      String subject,
      double used,
      Double limit,
      Double pressure) {
    VerdictView v = judged.get(kind + "\0" + subject);
    Double percent = limit == null || limit <= 0 ? null : Math.round(1000 * used / limit) / 10.0;
    return new Table(
        kind,
        subject,
        used,
        limit,
        pressure,
        percent,
        v == null ? null : v.etaSeconds(),
        v == null ? null : v.severity());
  }

  private static Double number(String v) {
    if (v == null) return null;
    try {
      return (double) Long.parseLong(v.strip());
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
