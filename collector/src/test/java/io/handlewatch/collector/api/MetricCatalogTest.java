package io.handlewatch.collector.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The series API's catalog is the storage schema: what ReportPoints writes, nothing else. */
class MetricCatalogTest {
  /** A report with every optional value present. */
  private static List<StoredPoint> everything() {
    HostReport r =
        TestReports.withKernelTables(
            TestReports.report("h", 1, Instant.parse("2026-11-24T10:00:00Z")));
    var s = r.getSample().toBuilder();
    s.getHealthBuilder().setRssBytes(40_000_000);
    // What the collector's clock stage sets on a report it moved onto its timeline.
    s.setAgentTime(s.getTime()).setClockOffsetMs(-3_600_000).setClockStepMs(-300_000);
    s.getProcessesBuilder(0)
        .setIdentity(
            io.handlewatch.proto.v1.ProcessIdentity.newBuilder()
                .setCgroup("/kubepods/pod1/c1")
                .setPodNamespace("shop")
                .setPodName("checkout-1")
                .setContainerName("api"));
    return ReportPoints.of(r.toBuilder().setSample(s).build());
  }

  @Test
  void everyNumericFieldWrittenIsServedWithItsTags() {
    Set<String> written = new TreeSet<>();
    for (StoredPoint p : everything()) {
      for (var f : p.fields().entrySet()) {
        if (f.getValue() instanceof String) continue; // a sysctl's text: shown in the host view
        String name = p.measurement() + "." + f.getKey();
        written.add(name);
        MetricCatalog.Metric m =
            MetricCatalog.find(name).orElseThrow(() -> new AssertionError(name));
        Set<String> tags = new TreeSet<>(p.tags().keySet());
        tags.remove("host");
        // A process point has the namespace tag only when the agent learnt its pod's namespace.
        if (p.measurement().equals("process") && p.fields().containsKey("pod")) {
          assertThat(tags).as("tags of %s with a pod", name).contains("namespace");
        }
        tags.add("namespace");
        Set<String> served = new TreeSet<>(m.tags());
        served.add("namespace");
        assertThat(served).as("tags of %s", name).isEqualTo(tags);
      }
    }
    Set<String> served = new TreeSet<>(MetricCatalog.names());
    served.removeIf(n -> n.startsWith("verdict.")); // written by the detector
    assertThat(served).isEqualTo(written);
  }

  @Test
  void verdictMetricsFollowTheDesignSchema() {
    assertThat(MetricCatalog.names())
        .filteredOn(n -> n.startsWith("verdict."))
        .containsExactlyInAnyOrder(
            "verdict.eta_seconds", "verdict.slope_per_min", "verdict.value", "verdict.limit");
    assertThat(MetricCatalog.find("verdict.eta_seconds").orElseThrow().tags())
        .containsExactly("kind", "subject");
  }
}
