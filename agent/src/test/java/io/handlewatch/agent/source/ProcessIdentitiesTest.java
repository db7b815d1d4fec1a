package io.handlewatch.agent.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Identity from /proc/PID/cgroup files of every layout handlewatch knows (fixtures under
 * src/test/resources/identity/cgroup, each a real layout of its runtime and driver), named through
 * a host root holding the runtimes' and the kubelet's files (identity/hostroot).
 */
class ProcessIdentitiesTest {
  static final Path FIXTURES = Path.of("src/test/resources/identity");
  static final String C1 = "3f1e2d4c5b6a79880f1e2d3c4b5a69788f9e0d1c2b3a49586f7e8d9c0b1a2938";
  static final String C2 = "9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";
  static final String C3 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  static final String U1 = "1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b";
  static final String U2 = "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f";

  @TempDir Path proc;
  ProcessIdentities ids;
  Problems problems;
  int nextPid = 100;

  @BeforeEach
  void setUp() {
    ids = new ProcessIdentities(new ProcFs(proc), new ContainerNames(FIXTURES.resolve("hostroot")));
    ids.startSample();
    problems = new Problems();
  }

  ProcessIdentities.Identity of(String fixture) throws Exception {
    int pid = nextPid++;
    Files.createDirectories(proc.resolve(Integer.toString(pid)));
    Files.copy(FIXTURES.resolve("cgroup/" + fixture), proc.resolve(pid + "/cgroup"));
    return ids.read(pid, problems);
  }

  @Test
  void kubepodsContainerdSystemdDriverV2() throws Exception {
    ProcessIdentities.Identity id = of("v2-kubepods-containerd-systemd");
    assertThat(id.cgroup().runtime()).isEqualTo("containerd");
    assertThat(id.cgroup().containerId()).isEqualTo(C1);
    assertThat(id.cgroup().podUid()).isEqualTo(U1);
    assertThat(id.cgroup().unit()).isEqualTo("cri-containerd-" + C1 + ".scope");
    assertThat(id.names())
        .isEqualTo(
            new ContainerNames.Names("containerd", "shop", "checkout-7d9f8b6c5-x2k4p", "api"));
  }

  @Test
  void kubepodsContainerdCgroupfsDriverV1TellsTheRuntimeByItsStateFiles() throws Exception {
    ProcessIdentities.Identity id = of("v1-kubepods-cgroupfs");
    assertThat(id.cgroup().cgroup()).isEqualTo("/kubepods/besteffort/pod" + U1 + "/" + C1);
    assertThat(id.cgroup().runtime()).as("the path does not say").isNull();
    assertThat(id.cgroup().containerId()).isEqualTo(C1);
    assertThat(id.cgroup().podUid()).isEqualTo(U1);
    assertThat(id.names().runtime()).isEqualTo("containerd");
    assertThat(id.names().container()).isEqualTo("api");
  }

  @Test
  void crioBothDrivers() throws Exception {
    for (String f : new String[] {"v2-kubepods-crio-guaranteed", "v1-kubepods-crio-cgroupfs"}) {
      ProcessIdentities.Identity id = of(f);
      assertThat(id.cgroup().runtime()).as(f).isEqualTo("cri-o");
      assertThat(id.cgroup().containerId()).as(f).isEqualTo(C2);
      assertThat(id.cgroup().podUid()).as(f).isEqualTo(U1);
      assertThat(id.names())
          .as(f)
          .isEqualTo(new ContainerNames.Names("cri-o", "billing", "payments-0", "payments"));
    }
  }

  @Test
  void dockerBothDriversNamesTheContainer() throws Exception {
    for (String f : new String[] {"v2-docker-systemd", "v1-docker-cgroupfs"}) {
      ProcessIdentities.Identity id = of(f);
      assertThat(id.cgroup().runtime()).as(f).isEqualTo("docker");
      assertThat(id.cgroup().containerId()).as(f).isEqualTo(C3);
      assertThat(id.cgroup().podUid()).as(f).isNull();
      assertThat(id.names())
          .as(f)
          .isEqualTo(new ContainerNames.Names("docker", null, null, "shop-db-1"));
    }
    assertThat(of("v2-docker-systemd").cgroup().unit()).isEqualTo("docker-" + C3 + ".scope");
    assertThat(of("v1-docker-cgroupfs").cgroup().unit()).isNull();
  }

  @Test
  void podmanRootfulRootlessAndCgroupfs() throws Exception {
    for (String f :
        new String[] {"v2-podman-rootful", "v2-podman-rootless", "v1-podman-cgroupfs"}) {
      ProcessIdentities.Identity id = of(f);
      assertThat(id.cgroup().runtime()).as(f).isEqualTo("podman");
      assertThat(id.cgroup().containerId()).as(f).isEqualTo(C2);
    }
    assertThat(of("v2-podman-rootless").cgroup().unit()).isEqualTo("libpod-" + C2 + ".scope");
  }

  @Test
  void kubeletPodDirectoryWhenNoRuntimeStateIsFound() throws Exception {
    ProcessIdentities.Identity id = of("v1-kubepods-kubelet-dir-only");
    assertThat(id.cgroup().podUid()).isEqualTo(U2);
    assertThat(id.names())
        .isEqualTo(
            new ContainerNames.Names(null, "jobs", "queue-worker-5b4d7c9f8-qz7mn", "worker"));
  }

  @Test
  void systemdUnitsOnV2AndHybridHosts() throws Exception {
    assertThat(of("v2-systemd-service").cgroup().unit()).isEqualTo("nginx.service");
    assertThat(of("v2-session").cgroup().unit()).isEqualTo("session-3.scope");
    ProcessIdentities.Identity hybrid = of("hybrid-systemd-service");
    assertThat(hybrid.cgroup().cgroup()).isEqualTo("/system.slice/postgresql@15-main.service");
    assertThat(hybrid.cgroup().unit()).isEqualTo("postgresql@15-main.service");
    assertThat(hybrid.cgroup().runtime()).isNull();
    assertThat(hybrid.names()).as("nothing to look up").isNull();
  }

  @Test
  void unknownLayoutsKeepTheRawPathAndNeverFail() throws Exception {
    ProcessIdentities.Identity memoryOnly = of("hybrid-memory-only");
    assertThat(memoryOnly.cgroup().cgroup())
        .isEqualTo("/process_api/2d8df2524deda6367c5a430e49215c54");
    assertThat(memoryOnly.cgroup().unit()).isNull();
    assertThat(of("root-only").cgroup().cgroup()).isEqualTo("/");
    ProcessIdentities.Identity unknown = of("unknown-layout");
    assertThat(unknown.cgroup())
        .isEqualTo(new CgroupIdentity("/custom/batch/job-17", null, null, null, null));
    assertThat(problems.isEmpty()).as(problems.reasons().toString()).isTrue();
    assertThat(of("garbage")).isNull();
    assertThat(problems.skipped()).isEqualTo(1);
    assertThat(problems.reasons().getFirst()).contains("no cgroup line");
  }

  @Test
  void aProcessThatExitedHasNoIdentityAndNoProblem() {
    assertThat(ids.read(99999, problems)).isNull();
    assertThat(problems.isEmpty()).isTrue();
  }

  @Test
  void jsonValuesUnescape() {
    assertThat(ContainerNames.value("{\"a\":\"x\\\"y\\u0041\"}", "a")).isEqualTo("x\"yA");
    assertThat(ContainerNames.value("{\"a\":\"bad\\u00zz\"}", "a")).isEqualTo("bad\\u00zz");
    assertThat(ContainerNames.value("{\"b\":\"x\"}", "a")).isNull();
  }
}
