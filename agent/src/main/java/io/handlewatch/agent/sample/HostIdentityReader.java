package io.handlewatch.agent.sample;

import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.proto.v1.HostIdentity;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads who the host is: {@code sys/kernel/hostname}, {@code sys/kernel/random/boot_id} and {@code
 * sys/kernel/osrelease} from the procfs, the machine id from {@code /etc/machine-id}, and which
 * agent build is asking.
 */
final class HostIdentityReader {
  private final ProcFs fs;
  private final String hostnameOverride;
  private final Path machineIdFile;

  HostIdentityReader(ProcFs fs, String hostnameOverride, Path machineIdFile) {
    this.fs = fs;
    this.hostnameOverride = hostnameOverride;
    this.machineIdFile = machineIdFile;
  }

  HostIdentity read() {
    HostIdentity.Builder b = HostIdentity.newBuilder();
    String kernelName = small("sys/kernel/hostname");
    b.setHostname(
        hostnameOverride != null ? hostnameOverride : kernelName != null ? kernelName : "unknown");
    String boot = small("sys/kernel/random/boot_id");
    if (boot != null) {
      b.setBootId(boot);
    }
    String release = small("sys/kernel/osrelease");
    if (release != null) {
      b.setKernelRelease(release);
    }
    AgentBuild build = AgentBuild.current();
    b.setAgentVersion(build.version());
    build.commit().ifPresent(b::setAgentCommit);
    if (machineIdFile != null) {
      try {
        String id = ProcFs.readCapped(machineIdFile, 4096).strip();
        if (!id.isEmpty()) {
          b.setMachineId(id);
        }
      } catch (IOException e) {
        // Not every host or container has /etc/machine-id: the field stays absent.
      }
    }
    return b.build();
  }

  private String small(String rel) {
    try {
      String v = fs.readSmall(rel).strip();
      return v.isEmpty() ? null : v;
    } catch (IOException e) {
      return null;
    }
  }
}
