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
}
