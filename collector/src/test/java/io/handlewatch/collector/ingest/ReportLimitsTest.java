package io.handlewatch.collector.ingest;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.SourceRun;
import io.handlewatch.proto.v1.Sysctl;
import java.time.Instant;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * Every list and string limit of {@link ReportLimits}: at the limit passes, one more is refused.
 */
class ReportLimitsTest {
  private final Instant now = Instant.parse("2026-11-24T12:00:00Z");
  private final ReportLimits limits = new ReportLimits();
  private final ReportValidator validator = new ReportValidator(limits);

  /** Builds a report with {@code n} of something; n = limit passes, n = limit + 1 names field. */
  private void limit(int max, String field, BiConsumer<HostSample.Builder, Integer> fill) {
    for (int n : new int[] {max, max + 1}) {
      HostSample.Builder s = report("web-1", 1, now).getSample().toBuilder();
      fill.accept(s, n);
      var v = validator.check(HostReport.newBuilder().setSeq(1).setSample(s).build());
      if (n == max) {
        assertThat(v).as("%s at its limit %d", field, max).isEmpty();
      } else {
        assertThat(v).as("%s over its limit", field).isPresent();
        assertThat(v.get().field()).isEqualTo(field);
        assertThat(v.get().code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      }
    }
  }

  @Test
  void listSizes() {
    limit(
        limits.maxProcesses,
        "sample.processes",
        (s, n) -> {
          s.clearProcesses();
          for (int i = 0; i < n; i++) s.addProcesses(TestReports.process(i + 1, "w", 1, 9, 0));
        });
    limit(
        limits.maxEndpointsPerProcess,
        "sample.processes[0].close_wait_peers",
        (s, n) -> {
          var p = s.getProcesses(0).toBuilder().clearCloseWaitPeers();
          for (int i = 0; i < n; i++)
            p.addCloseWaitPeers(
                EndpointCount.newBuilder().setEndpoint("10.0.0.1:" + i).setCount(1));
          s.setProcesses(0, p);
        });
    limit(
        limits.maxPortPressureEntries,
        "sample.port_pressure.top",
        (s, n) -> {
          var pp = s.getPortPressure().toBuilder().clearTop();
          for (int i = 0; i < n; i++)
            pp.addTop(PortPressureEntry.newBuilder().setRemote("10.0.0.1:" + i).setInUse(1));
          s.setPortPressure(pp);
        });
    limit(
        limits.maxSysctls,
        "sample.sysctls",
        (s, n) -> {
          s.clearSysctls();
          for (int i = 0; i < n; i++)
            s.addSysctls(Sysctl.newBuilder().setName("net.x" + i).setValue("1"));
        });
    limit(
        limits.maxHealthSources,
        "sample.health.sources",
        (s, n) -> {
          var h = AgentHealth.newBuilder();
          for (int i = 0; i < n; i++) h.addSources(SourceRun.newBuilder().setSource("s" + i));
          s.setHealth(h);
        });
  }

  @Test
  void stringLengths() {
    limit(
        limits.maxCommLength,
        "sample.processes[0].comm",
        (s, n) -> s.setProcesses(0, s.getProcesses(0).toBuilder().setComm("c".repeat(n))));
    limit(
        limits.maxCmdlineLength,
        "sample.processes[0].cmdline",
        (s, n) -> s.setProcesses(0, s.getProcesses(0).toBuilder().setCmdline("c".repeat(n))));
    limit(
        limits.maxEndpointLength,
        "sample.processes[0].close_wait_peers[0].endpoint",
        (s, n) ->
            s.setProcesses(
                0,
                s.getProcesses(0).toBuilder()
                    .setCloseWaitPeers(
                        0, EndpointCount.newBuilder().setEndpoint("e".repeat(n)).setCount(1))));
    limit(
        limits.maxEndpointLength,
        "sample.port_pressure.top[0].remote",
        (s, n) ->
            s.setPortPressure(
                s.getPortPressure().toBuilder()
                    .setTop(0, PortPressureEntry.newBuilder().setRemote("r".repeat(n)))));
    limit(
        limits.maxSysctlValueLength,
        "sample.sysctls[0].value",
        (s, n) -> s.setSysctls(0, Sysctl.newBuilder().setName("kernel.x").setValue("v".repeat(n))));
    limit(
        limits.maxTextLength,
        "sample.health.sources[0].errors",
        (s, n) ->
            s.setHealth(
                AgentHealth.newBuilder()
                    .addSources(SourceRun.newBuilder().setSource("tcp").addErrors("e".repeat(n)))));
  }
}
