package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;
import java.util.Map;

/**
 * One host in full: its {@link HostSummary} fields, then its processes, port pressure, sysctls,
 * verdicts, alerts and sysctl findings, and the latest sample as the agent sent it.
 *
 * @param summary the fleet listing's fields for this host, at the top level
 * @param processes the processes the agent reported, highest fd usage first
 * @param portPressure ephemeral ports in use per remote endpoint; absent when not measured
 * @param sysctls the host's last known sysctls, with findings and fleet-drift marks
 * @param verdicts verdicts in force, worst first
 * @param alerts alerts firing for this host
 * @param sysctlFindings every sysctl finding of the host
 * @param processWalk how complete the process walk was (unreadable processes, unattributed sockets)
 * @param owners the reported processes grouped by who owns them (pod, container, systemd unit),
 *     most CLOSE_WAIT first
 * @param namespaces the host's network namespaces with their socket counts, the host's own first;
 *     absent from agents that count their own namespace only
 * @param tables the kernel tables (conntrack, orphans, TCP memory, accept queues): use against
 *     limit, with the ETA of their verdicts
 * @param sample the latest sample, as protobuf JSON (handlewatch.v1.HostSample)
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HostDetail(
    @JsonUnwrapped HostSummary summary,
    List<ProcessView> processes,
    PortPressureView portPressure,
    List<SysctlView> sysctls,
    List<VerdictView> verdicts,
    List<AlertView> alerts,
    List<SysctlFinding> sysctlFindings,
    JsonNode processWalk,
    List<OwnerGroups.Group> owners,
    List<OwnerGroups.Netns> namespaces,
    List<KernelTables.Table> tables,
    JsonNode sample) {

  /**
   * A process the agent reported.
   *
   * @param pid process id
   * @param comm command name
   * @param cmdline command line, when readable
   * @param fds fds open
   * @param softLimit soft RLIMIT_NOFILE
   * @param hardLimit hard RLIMIT_NOFILE
   * @param usedPercent fds of the soft limit, percent
   * @param selectedBy why the agent reported it: {@code fd_ratio}, {@code close_wait} or {@code
   *     both}
   * @param sockets its TCP sockets by state; absent when its fds could not be read
   * @param closeWaitPeers the remote endpoints its CLOSE_WAIT sockets point at, most first
   * @param owner who it belongs to (pod, container, systemd unit); absent when not reported
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ProcessView(
      long pid,
      String comm,
      String cmdline,
      Long fds,
      Long softLimit,
      Long hardLimit,
      Double usedPercent,
      String selectedBy,
      Map<String, Object> sockets,
      List<Peer> closeWaitPeers,
      OwnerGroups.Owner owner) {}

  /** A remote endpoint and how many sockets point at it. */
  public record Peer(String remote, long count) {}

  /**
   * Ephemeral port use.
   *
   * @param rangeLow ip_local_port_range low end
   * @param rangeHigh its high end
   * @param rangeSize ports in the range
   * @param top the remote endpoints with most local ports in use, most first
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record PortPressureView(
      Integer rangeLow, Integer rangeHigh, Integer rangeSize, List<PortUse> top) {}

  /**
   * Local ports in use towards one remote endpoint.
   *
   * @param remote ip:port
   * @param inUse sockets towards it holding a local ephemeral port
   * @param timeWait of which in TIME_WAIT
   * @param usedPercent in_use of the range size, percent
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record PortUse(String remote, long inUse, long timeWait, Double usedPercent) {}

  /**
   * One sysctl of the host.
   *
   * @param name the sysctl
   * @param value its value on the host
   * @param findings findings about it on this host
   * @param fleetMajority the fleet's majority value, present only when this host differs from it
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record SysctlView(
      String name, String value, List<SysctlFinding> findings, String fleetMajority) {}
}
