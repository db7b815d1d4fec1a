package io.handlewatch.collector.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.NamespaceSockets;
import io.handlewatch.proto.v1.ProcessIdentity;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The schema for identities and labels (docs/storage.md): host labels are tags of the host-level
 * measurements; a process's Kubernetes namespace is a tag, its pod, container and unit are fields;
 * network namespaces are summed per Kubernetes namespace into {@code netns}.
 */
class ReportPointsOwnersTest {
  static final Instant T = Instant.parse("2026-11-24T10:00:00Z");

  static List<StoredPoint> points() {
    HostReport r = TestReports.report("node-1", 1, T);
    var s = r.getSample().toBuilder();
    s.getHostBuilder().putLabels("env", "prod").putLabels("cluster", "eu 1");
    s.getProcessesBuilder(0)
        .setIdentity(
            ProcessIdentity.newBuilder()
                .setCgroup("/kubepods/pod1/c1")
                .setContainerId("c1")
                .setPodNamespace("shop")
                .setPodName("checkout-1")
                .setContainerName("api"));
    s.getProcessesBuilder(1)
        .setIdentity(
            ProcessIdentity.newBuilder()
                .setCgroup("/system.slice/nginx.service")
                .setSystemdUnit("nginx.service"));
    ProcessIdentity shopPod =
        ProcessIdentity.newBuilder().setCgroup("/x").setPodNamespace("shop").build();
    s.getTcpBuilder()
        .addNamespaces(ns(true, null, TcpStateCounts.newBuilder().setListen(2).build()))
        .addNamespaces(ns(false, shopPod, TcpStateCounts.newBuilder().setCloseWait(5).build()))
        .addNamespaces(
            ns(
                false,
                shopPod,
                TcpStateCounts.newBuilder().setCloseWait(7).setEstablished(1).build()))
        .addNamespaces(
            ns(
                false,
                ProcessIdentity.newBuilder().setCgroup("/docker/x").build(),
                TcpStateCounts.newBuilder().setTimeWait(3).build()))
        .addNamespaces(NamespaceSockets.newBuilder().setInode(99)); // not counted: no point
    return ReportPoints.of(r.toBuilder().setSample(s).build());
  }

  static NamespaceSockets ns(boolean host, ProcessIdentity owner, TcpStateCounts c) {
    NamespaceSockets.Builder b = NamespaceSockets.newBuilder().setHost(host).setCounts(c);
    if (owner != null) b.setOwner(owner);
    return b.build();
  }

  static List<StoredPoint> of(List<StoredPoint> ps, String measurement) {
    return ps.stream().filter(p -> p.measurement().equals(measurement)).toList();
  }

  @Test
  void hostLabelsAreTagsOfTheHostLevelMeasurementsOnly() {
    List<StoredPoint> ps = points();
    for (String m : List.of("tcp", "fd", "agent")) {
      assertThat(of(ps, m).getFirst().tags())
          .as(m)
          .containsEntry("env", "prod")
          .containsEntry("cluster", TagValues.safe("eu 1"));
    }
    for (String m : List.of("process", "close_wait_peer", "sysctl", "netns")) {
      assertThat(of(ps, m)).as(m).allSatisfy(p -> assertThat(p.tags()).doesNotContainKey("env"));
    }
  }

  @Test
  void podsAreFieldsAndTheirNamespaceIsATag() {
    List<StoredPoint> ps = of(points(), "process");
    StoredPoint java =
        ps.stream().filter(p -> p.tags().get("pid").equals("4242")).findFirst().orElseThrow();
    assertThat(java.tags()).containsEntry("namespace", "shop");
    assertThat(java.fields())
        .containsEntry("pod", "checkout-1")
        .containsEntry("container", "api")
        .containsEntry("container_id", "c1");
    StoredPoint nginx =
        ps.stream().filter(p -> p.tags().get("pid").equals("77")).findFirst().orElseThrow();
    assertThat(nginx.tags()).doesNotContainKey("namespace");
    assertThat(nginx.fields()).containsEntry("unit", "nginx.service").doesNotContainKey("pod");
  }

  @Test
  void networkNamespacesAreSummedPerKubernetesNamespace() {
    Map<String, StoredPoint> byNs = new java.util.TreeMap<>();
    of(points(), "netns").forEach(p -> byNs.put(p.tags().get("namespace"), p));
    assertThat(byNs.keySet()).containsExactly("_host", "_none", "shop");
    assertThat(byNs.get("shop").fields())
        .containsEntry("close_wait", 12L)
        .containsEntry("established", 1L)
        .containsEntry("namespaces", 2L);
    assertThat(byNs.get("_none").fields())
        .containsEntry("time_wait", 3L)
        .containsEntry("namespaces", 1L);
    assertThat(byNs.get("_host").fields()).containsEntry("listen", 2L);
  }
}
