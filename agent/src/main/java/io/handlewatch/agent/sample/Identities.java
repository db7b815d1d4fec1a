package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.CgroupIdentity;
import io.handlewatch.agent.source.ContainerNames;
import io.handlewatch.agent.source.ProcessIdentities;
import io.handlewatch.proto.v1.ProcessIdentity;

/** A process's identity as the report carries it. */
final class Identities {
  private Identities() {}

  static ProcessIdentity toProto(ProcessIdentities.Identity id) {
    CgroupIdentity c = id.cgroup();
    ProcessIdentity.Builder b = ProcessIdentity.newBuilder().setCgroup(c.cgroup());
    if (c.unit() != null) b.setSystemdUnit(c.unit());
    String runtime = c.runtime();
    ContainerNames.Names n = id.names();
    if (n != null && n.runtime() != null) runtime = n.runtime();
    if (runtime != null) b.setRuntime(runtime);
    if (c.containerId() != null) b.setContainerId(c.containerId());
    if (c.podUid() != null) b.setPodUid(c.podUid());
    if (n != null) {
      if (n.namespace() != null) b.setPodNamespace(n.namespace());
      if (n.pod() != null) b.setPodName(n.pod());
      if (n.container() != null) b.setContainerName(n.container());
    }
    return b.build();
  }

  /**
   * One short phrase for a person: "pod shop/checkout-7d9f8b6c5-x2k4p container api", "docker
   * container shop-db-1", "unit nginx.service", else the cgroup path.
   */
  static String describe(ProcessIdentity id) {
    if (id.hasPodName() || id.hasPodUid()) {
      String pod =
          id.hasPodName()
              ? (id.hasPodNamespace() ? id.getPodNamespace() + "/" : "") + id.getPodName()
              : id.getPodUid();
      return "pod " + pod + (id.hasContainerName() ? " container " + id.getContainerName() : "");
    }
    if (id.hasContainerId()) {
      String name =
          id.hasContainerName() ? id.getContainerName() : id.getContainerId().substring(0, 12);
      return (id.hasRuntime() ? id.getRuntime() + " " : "") + "container " + name;
    }
    if (id.hasSystemdUnit()) {
      return "unit " + id.getSystemdUnit();
    }
    return "cgroup " + id.getCgroup();
  }
}
