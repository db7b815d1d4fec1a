package io.handlewatch.agent.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.handlewatch.agent.source.ProcFs;
import io.handlewatch.agent.source.natives.NetlinkSocketTable;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.ProcessSample;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real cgroup directories imitating the kubepods/containerd, Docker and systemd layouts, in the
 * cgroup v2 hierarchy and in the v1 name=systemd one (this machine mounts both: hybrid), each with
 * a real process moved into it. The agent's sample must name each one right, the names read from a
 * host root holding the runtimes' state files (the unit tests' fixture).
 */
class CgroupIdentityIT {
  static final Path V2 = Path.of("/sys/fs/cgroup/unified");
  static final Path V1 = Path.of("/sys/fs/cgroup/systemd");
  static final Path HOST_ROOT = Path.of("src/test/resources/identity/hostroot").toAbsolutePath();
  static final String C1 = "3f1e2d4c5b6a79880f1e2d3c4b5a69788f9e0d1c2b3a49586f7e8d9c0b1a2938";
  static final String C3 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  static final String U1 = "1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b";
  static final String TOP = "hw12-" + ProcessHandle.current().pid();

  /** cgroup directory (relative to its hierarchy) -> the process moved into it. */
  static final Map<Path, Process> children = new LinkedHashMap<>();

  static final Path V2_POD =
      V2.resolve(
          TOP
              + "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
              + U1.replace('-', '_')
              + ".slice/cri-containerd-"
              + C1
              + ".scope");
  static final Path V2_DOCKER = V2.resolve(TOP + "/system.slice/docker-" + C3 + ".scope");
  static final Path V2_UNIT = V2.resolve(TOP + "/system.slice/hw12-demo.service");
  static final Path V1_POD = V1.resolve(TOP + "/kubepods/burstable/pod" + U1 + "/" + C1);
  static final Path V1_DOCKER = V1.resolve(TOP + "/docker/" + C3);
  static final Path V1_UNIT = V1.resolve(TOP + "/system.slice/hw12-demo.service");

  @BeforeAll
  static void cgroups() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "needs root to make cgroups");
    assumeTrue(
        Files.isWritable(V2.resolve("cgroup.procs"))
            && Files.isWritable(V1.resolve("cgroup.procs")),
        "needs the hybrid layout: cgroup2 at " + V2 + " and v1 name=systemd at " + V1);
    for (Path dir : List.of(V2_POD, V2_DOCKER, V2_UNIT, V1_POD, V1_DOCKER, V1_UNIT)) {
      Files.createDirectories(dir);
      Process p = new ProcessBuilder("sleep", "600").start();
      children.put(dir, p);
      Files.writeString(dir.resolve("cgroup.procs"), Long.toString(p.pid()));
    }
  }

  @AfterAll
  static void cleanUp() throws Exception {
    for (Process p : children.values()) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    for (Path top : List.of(V2.resolve(TOP), V1.resolve(TOP))) {
      removeTree(top);
    }
  }

  @Test
  void eachLayoutIsNamed() throws Exception {
    Sampler sampler =
        new Sampler(
            ProcFs.host(),
            List.of(new NetlinkSocketTable()),
            new SampleOptions(100_000, 10, false, List.of(), 1, null, null, CommandLines.FULL)
                .withNamespaces(true, HOST_ROOT),
            Clock.systemUTC());
    HostSample s = sampler.sample();

    for (Path pod : List.of(V2_POD, V1_POD)) {
      ProcessIdentity id = identity(s, pod);
      assertThat(id.getRuntime()).as(pod.toString()).isEqualTo("containerd");
      assertThat(id.getContainerId()).isEqualTo(C1);
      assertThat(id.getPodUid()).isEqualTo(U1);
      assertThat(id.getPodNamespace()).isEqualTo("shop");
      assertThat(id.getPodName()).isEqualTo("checkout-7d9f8b6c5-x2k4p");
      assertThat(id.getContainerName()).isEqualTo("api");
    }
    for (Path docker : List.of(V2_DOCKER, V1_DOCKER)) {
      ProcessIdentity id = identity(s, docker);
      assertThat(id.getRuntime()).as(docker.toString()).isEqualTo("docker");
      assertThat(id.getContainerId()).isEqualTo(C3);
      assertThat(id.getContainerName()).isEqualTo("shop-db-1");
      assertThat(id.hasPodUid()).isFalse();
    }
    assertThat(identity(s, V2_DOCKER).getSystemdUnit()).isEqualTo("docker-" + C3 + ".scope");
    for (Path unit : List.of(V2_UNIT, V1_UNIT)) {
      ProcessIdentity id = identity(s, unit);
      assertThat(id.getSystemdUnit()).as(unit.toString()).isEqualTo("hw12-demo.service");
      assertThat(id.hasRuntime()).isFalse();
      assertThat(id.hasContainerId()).isFalse();
    }
  }

  static ProcessIdentity identity(HostSample s, Path dir) {
    long pid = children.get(dir).pid();
    ProcessSample p =
        s.getProcessesList().stream()
            .filter(x -> x.getPid() == pid)
            .findFirst()
            .orElseThrow(() -> new AssertionError("pid " + pid + " (" + dir + ") not sampled"));
    assertThat(p.hasIdentity()).as(dir.toString()).isTrue();
    Path hierarchy = dir.startsWith(V2) ? V2 : V1;
    assertThat(p.getIdentity().getCgroup()).isEqualTo("/" + hierarchy.relativize(dir));
    return p.getIdentity();
  }

  static void removeTree(Path top) throws IOException {
    if (!Files.exists(top)) {
      return;
    }
    List<Path> dirs = new ArrayList<>();
    try (var walk = Files.walk(top)) {
      walk.filter(Files::isDirectory).forEach(dirs::add);
    }
    // cgroup directories are removed with rmdir, deepest first; their control files go with them.
    for (int i = dirs.size() - 1; i >= 0; i--) {
      Files.delete(dirs.get(i));
    }
  }
}
