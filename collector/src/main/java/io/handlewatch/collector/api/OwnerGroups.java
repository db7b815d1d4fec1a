package io.handlewatch.collector.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.handlewatch.collector.detect.Owners;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.ProcessSample;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A host's processes and network namespaces by who owns them, for the host view. */
public final class OwnerGroups {
  private OwnerGroups() {}

  /**
   * Who owns a process or a namespace.
   *
   * @param name how pages name it: {@code pod/container}, a container's name, else {@code unit
   *     NAME}, else {@code host}
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Owner(
      String name,
      String namespace,
      String pod,
      String container,
      String unit,
      String runtime,
      String containerId,
      String cgroup) {}

  /**
   * The reported processes of one owner.
   *
   * @param owner who
   * @param processes how many reported processes it has
   * @param pids their pids
   * @param fds their open fds, summed
   * @param closeWait their CLOSE_WAIT sockets, summed
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Group(Owner owner, int processes, List<Long> pids, long fds, long closeWait) {}

  /**
   * One network namespace of the host.
   *
   * @param inode its inode
   * @param host whether it is the agent's own
   * @param name its /run/netns name
   * @param reader netlink or proc (/proc/PID/net/tcp of a member, without CAP_SYS_ADMIN)
   * @param processes processes living in it
   * @param pid the member it was reached through
   * @param owner who owns that member
   * @param tcp its sockets by state; absent when it could not be counted
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Netns(
      long inode,
      boolean host,
      String name,
      String reader,
      int processes,
      Long pid,
      Owner owner,
      Map<String, Object> tcp) {}

  static Owner owner(ProcessIdentity id) {
    String name = Owners.name(id);
    if (name == null) name = id.hasSystemdUnit() ? "unit " + id.getSystemdUnit() : "host";
    return new Owner(
        name,
        id.hasPodNamespace() ? id.getPodNamespace() : null,
        id.hasPodName() ? id.getPodName() : null,
        id.hasContainerName() ? id.getContainerName() : null,
        id.hasSystemdUnit() ? id.getSystemdUnit() : null,
        id.hasRuntime() ? id.getRuntime() : null,
        id.hasContainerId() ? id.getContainerId() : null,
        id.getCgroup().isEmpty() ? null : id.getCgroup());
  }

  /** The reported processes grouped by owner, most CLOSE_WAIT first, then most fds. */
  static List<Group> of(HostSample s) {
    Map<String, List<ProcessSample>> byOwner = new LinkedHashMap<>();
    Map<String, Owner> owners = new LinkedHashMap<>();
    for (ProcessSample p : s.getProcessesList()) {
      Owner o =
          p.hasIdentity()
              ? owner(p.getIdentity())
              : new Owner("host", null, null, null, null, null, null, null);
      String key = o.namespace() + "/" + o.name();
      owners.putIfAbsent(key, o);
      byOwner.computeIfAbsent(key, k -> new ArrayList<>()).add(p);
    }
    List<Group> out = new ArrayList<>();
    for (var e : byOwner.entrySet()) {
      List<ProcessSample> ps = e.getValue();
      out.add(
          new Group(
              owners.get(e.getKey()),
              ps.size(),
              ps.stream().map(p -> Integer.toUnsignedLong(p.getPid())).toList(),
              ps.stream().mapToLong(ProcessSample::getFds).sum(),
              ps.stream().mapToLong(p -> p.getSockets().getCloseWait()).sum()));
    }
    out.sort(
        Comparator.comparingLong(Group::closeWait)
            .reversed()
            .thenComparing(Comparator.comparingLong(Group::fds).reversed())
            .thenComparing(g -> g.owner().name()));
    return out;
  }

  /** The host's namespaces as the agent listed them; null when it listed none. */
  static List<Netns> namespaces(HostSample s) {
    if (s.getTcp().getNamespacesCount() == 0) return null;
    List<Netns> out = new ArrayList<>();
    for (NamespaceSockets ns : s.getTcp().getNamespacesList()) {
      out.add(
          new Netns(
              ns.getInode(),
              ns.getHost(),
              ns.hasName() ? ns.getName() : null,
              ns.getReader().name().replace("TCP_READER_", "").toLowerCase(Locale.ROOT),
              ns.getProcesses(),
              ns.hasPid() ? Integer.toUnsignedLong(ns.getPid()) : null,
              ns.hasOwner() ? owner(ns.getOwner()) : null,
              ns.hasCounts() ? ReportPoints.tcpFields(ns.getCounts()) : null));
    }
    return out;
  }
}
