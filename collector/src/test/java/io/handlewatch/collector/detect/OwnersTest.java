package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ProcessIdentity;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Pages name the container: a leaking process in a pod pages with the conventional {@code
 * namespace}, {@code pod} and {@code container} labels, the host's labels, and a summary saying
 * {@code pod/container (comm[pid])}; without an identity the page is as before.
 */
class OwnersTest {
  static final ProcessIdentity POD =
      ProcessIdentity.newBuilder()
          .setCgroup("/kubepods.slice/kubepods-pod1.slice/cri-containerd-ab.scope")
          .setRuntime("containerd")
          .setContainerId("ab12ab12ab12ab12")
          .setPodUid("1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b")
          .setPodNamespace("shop")
          .setPodName("checkout-7d9f8b6c5-x2k4p")
          .setContainerName("api")
          .build();

  final List<Alert> alerts = new ArrayList<>();
  final List<StoredPoint> points = new ArrayList<>();

  List<Alert> run(ProcessIdentity id, Map<String, String> hostLabels) {
    DetectionEngine e =
        new DetectionEngine(
            new DetectionFactory().build(), alerts::add, points::addAll, h -> Map.of());
    for (HostReport r : DetectionEngineTest.leak("h1", 60, 40)) {
      var s = r.getSample().toBuilder();
      s.getHostBuilder().putAllLabels(hostLabels);
      for (var p : s.getProcessesBuilderList()) {
        if (id != null && p.getPid() == 4121) p.setIdentity(id);
      }
      e.evaluate(r.toBuilder().setSample(s).build());
    }
    return alerts.stream().filter(a -> a.labels().get("alertname").contains("CloseWait")).toList();
  }

  @Test
  void aLeakInAPodPagesWithItsNamespacePodContainerAndTheHostLabels() {
    List<Alert> firing = run(POD, Map.of("env", "prod", "cluster", "eu-1"));
    assertThat(firing).isNotEmpty();
    Alert a = firing.getFirst();
    assertThat(a.labels())
        .containsEntry("namespace", "shop")
        .containsEntry("pod", "checkout-7d9f8b6c5-x2k4p")
        .containsEntry("container", "api")
        .containsEntry("pid", "4121")
        .containsEntry("comm", "java")
        .containsEntry("env", "prod")
        .containsEntry("cluster", "eu-1")
        .containsEntry("host", "h1")
        .doesNotContainKey("unit");
    assertThat(a.annotations().get("summary"))
        .startsWith("h1: checkout-7d9f8b6c5-x2k4p/api (java[4121]) holds ");
    // The incident keeps its identity: the dedup key and subject do not depend on the pod.
    assertThat(a.dedupKey()).contains("java[4121]");
  }

  @Test
  void withoutAnIdentityThePageIsAsBefore() {
    List<Alert> firing = run(null, Map.of());
    Alert a = firing.getFirst();
    assertThat(a.labels()).doesNotContainKeys("namespace", "pod", "container", "env");
    assertThat(a.annotations().get("summary")).startsWith("h1: java[4121] holds ");
  }

  @Test
  void aSystemdServiceIsNamedByItsUnitLabel() {
    ProcessIdentity unit =
        ProcessIdentity.newBuilder()
            .setCgroup("/system.slice/billing.service")
            .setSystemdUnit("billing.service")
            .build();
    Alert a = run(unit, Map.of()).getFirst();
    assertThat(a.labels()).containsEntry("unit", "billing.service").doesNotContainKey("pod");
    assertThat(a.annotations().get("summary")).startsWith("h1: java[4121] holds ");
  }

  @Test
  void aVerdictsOwnLabelWinsOverAHostLabelOfTheSameName() {
    Alert a = run(POD, Map.of("pod", "not-this-one", "role", "db")).getFirst();
    assertThat(a.labels())
        .containsEntry("pod", "checkout-7d9f8b6c5-x2k4p")
        .containsEntry("role", "db");
  }
}
