package io.handlewatch.collector.ingest;

import static io.handlewatch.collector.testing.TestReports.report;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import io.handlewatch.proto.v1.Sysctl;
import io.handlewatch.proto.v1.TcpStateCounts;
import java.time.Instant;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class ReportValidatorTest {
  private final Instant now = Instant.parse("2026-11-24T12:00:00Z");
  private final ReportValidator validator = new ReportValidator(new ReportLimits());

  private HostReport with(UnaryOperator<HostSample.Builder> change) {
    HostReport r = report("web-1.example.com", 5, now);
    return r.toBuilder().setSample(change.apply(r.getSample().toBuilder())).build();
  }

  private void refused(HostReport r, String field, String reason, Status.Code code) {
    var v = validator.check(r);
    assertThat(v).as("violation").isPresent();
    assertThat(v.get().field()).isEqualTo(field);
    assertThat(v.get().reason()).isEqualTo(reason);
    assertThat(v.get().code()).isEqualTo(code);
    assertThat(v.get().message()).isNotBlank();
  }

  @Test
  void aRealisticReportPasses() {
    assertThat(validator.check(report("web-1.example.com", 1, now))).isEmpty();
    assertThat(validator.check(report("ip-10-0-0-1_internal", 1, now.minusSeconds(86_400))))
        .isEmpty();
  }

  @Test
  void listenersAreBoundedAndNamedByTheirField() {
    HostReport tables =
        io.handlewatch.collector.testing.TestReports.withKernelTables(
            report("web-1.example.com", 5, now));
    assertThat(validator.check(tables)).isEmpty();
    var big = Status.Code.RESOURCE_EXHAUSTED;
    var s = tables.getSample().toBuilder();
    s.getListenQueuesBuilder().getListenersBuilder(1).setLocal("");
    refused(
        tables.toBuilder().setSample(s).build(),
        "sample.listen_queues.listeners[1].local",
        "string_length",
        big);
    var many = tables.getSample().toBuilder();
    for (int i = 0; i < new ReportLimits().maxListeners; i++) {
      many.getListenQueuesBuilder().addListeners(many.getListenQueues().getListeners(0));
    }
    refused(
        tables.toBuilder().setSample(many).build(),
        "sample.listen_queues.listeners",
        "list_size",
        big);
  }

  @Test
  void hostLabelsAreFewWellNamedAndNotTheCollectorsOwn() {
    var bad = Status.Code.INVALID_ARGUMENT;
    assertThat(
            validator.check(with(s -> s.setHost(s.getHost().toBuilder().putLabels("env", "prod")))))
        .isEmpty();
    refused(
        with(s -> s.setHost(s.getHost().toBuilder().putLabels("namespace", "x"))),
        "sample.host.labels[\"namespace\"]",
        "label",
        bad);
    refused(
        with(s -> s.setHost(s.getHost().toBuilder().putLabels("9lives", "x"))),
        "sample.host.labels[\"9lives\"]",
        "label",
        bad);
    refused(
        with(s -> s.setHost(s.getHost().toBuilder().putLabels("env", ""))),
        "sample.host.labels[\"env\"]",
        "label",
        bad);
    refused(
        with(
            s -> {
              var h = s.getHost().toBuilder();
              for (int i = 0; i < 17; i++) h.putLabels("l" + i, "v");
              return s.setHost(h);
            }),
        "sample.host.labels",
        "list_size",
        Status.Code.RESOURCE_EXHAUSTED);
  }

  @Test
  void theAgentsVersionIsAVersionString() {
    var bad = Status.Code.INVALID_ARGUMENT;
    assertThat(
            validator.check(
                with(
                    s ->
                        s.setHost(
                            s.getHost().toBuilder()
                                .setAgentVersion("0.1.0-SNAPSHOT")
                                .setAgentCommit("0123456789ab-dirty")))))
        .isEmpty();
    refused(
        with(s -> s.setHost(s.getHost().toBuilder().setAgentVersion("1.0 <script>"))),
        "sample.host.agent_version",
        "agent_version",
        bad);
    refused(
        with(s -> s.setHost(s.getHost().toBuilder().setAgentVersion(""))),
        "sample.host.agent_version",
        "agent_version",
        bad);
    refused(
        with(s -> s.setHost(s.getHost().toBuilder().setAgentCommit("x".repeat(65)))),
        "sample.host.agent_commit",
        "agent_version",
        bad);
  }

  @Test
  void identitiesAndNamespacesAreBounded() {
    String longText = "x".repeat(1025);
    refused(
        with(
            s -> {
              s.getProcessesBuilder(0)
                  .setIdentity(
                      io.handlewatch.proto.v1.ProcessIdentity.newBuilder().setCgroup(longText));
              return s;
            }),
        "sample.processes[0].identity",
        "string_length",
        Status.Code.RESOURCE_EXHAUSTED);
    refused(
        with(
            s -> {
              for (int i = 0; i < 2001; i++) {
                s.getTcpBuilder()
                    .addNamespaces(
                        io.handlewatch.proto.v1.NamespaceSockets.newBuilder().setInode(i));
              }
              return s;
            }),
        "sample.tcp.namespaces",
        "list_size",
        Status.Code.RESOURCE_EXHAUSTED);
  }

  @Test
  void hostIdentityMustBeWellFormed() {
    var bad = Status.Code.INVALID_ARGUMENT;
    refused(with(s -> s.clearHost()), "sample.host.hostname", "host", bad);
    for (String h :
        new String[] {
          "", "web 1", "a,b", "x=y", "-lead", "trail-", "../etc", "a\nb", "h".repeat(254), "a..b"
        }) {
      refused(
          with(s -> s.setHost(s.getHost().toBuilder().setHostname(h))),
          "sample.host.hostname",
          "host",
          bad);
    }
  }

  @Test
  void sampleTimeMustBeATimestampWhateverTheHostsClockSays() {
    var bad = Status.Code.INVALID_ARGUMENT;
    refused(with(s -> s.clearTime()), "sample.time", "time", bad);
    refused(with(s -> s.setTime(s.getTime().toBuilder().setNanos(-1))), "sample.time", "time", bad);
    // A clock an hour ahead or behind is measured and corrected by the clock stage, not refused.
    assertThat(validator.check(with(s -> s.setTime(TestReports.ts(now.plusSeconds(3600))))))
        .isEmpty();
    assertThat(validator.check(with(s -> s.setTime(TestReports.ts(now.minusSeconds(3600))))))
        .isEmpty();
  }

  @Test
  void countsAboveTwoToTheSixtyThreeAreRefused() {
    var bad = Status.Code.INVALID_ARGUMENT;
    refused(
        with(
            s ->
                s.setTcp(
                    s.getTcp().toBuilder().setTotal(TcpStateCounts.newBuilder().setCloseWait(-1)))),
        "sample.tcp.total",
        "count",
        bad);
    refused(
        with(s -> s.setProcesses(0, s.getProcesses(0).toBuilder().setFds(Long.MIN_VALUE))),
        "sample.processes[0].fds",
        "count",
        bad);
    refused(
        with(s -> s.setFileHandles(s.getFileHandles().toBuilder().setUsedRatio(Double.NaN))),
        "sample.file_handles.used_ratio",
        "count",
        bad);
  }

  @Test
  void listsAndStringsHaveLimits() {
    var big = Status.Code.RESOURCE_EXHAUSTED;
    refused(
        with(
            s -> {
              for (int i = 0; i < 200; i++)
                s.addProcesses(TestReports.process(10_000 + i, "w", 1, 1024, 0));
              return s;
            }),
        "sample.processes",
        "list_size",
        big);
    refused(
        with(s -> s.setProcesses(1, s.getProcesses(1).toBuilder().setComm("x".repeat(65)))),
        "sample.processes[1].comm",
        "string_length",
        big);
    refused(
        with(
            s ->
                s.setProcesses(
                    0,
                    s.getProcesses(0).toBuilder()
                        .addCloseWaitPeers(
                            EndpointCount.newBuilder().setEndpoint("").setCount(1)))),
        "sample.processes[0].close_wait_peers[1].endpoint",
        "string_length",
        big);
    refused(
        with(s -> s.addSysctls(Sysctl.newBuilder().setName("kernel.x").setValue("v".repeat(5000)))),
        "sample.sysctls[2].value",
        "string_length",
        big);
  }

  @Test
  void seqZeroAndAMissingSampleAreRefused() {
    refused(
        report("web-1", 1, now).toBuilder().setSeq(0).build(),
        "seq",
        "seq",
        Status.Code.INVALID_ARGUMENT);
    refused(
        HostReport.newBuilder().setSeq(1).build(),
        "sample",
        "missing",
        Status.Code.INVALID_ARGUMENT);
  }
}
