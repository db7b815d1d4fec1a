package io.handlewatch.collector.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.HostSample;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SeriesBudgetTest {
  private final AtomicLong now = new AtomicLong();
  private final SeriesBudget budget = new SeriesBudget(10, TimeUnit.HOURS.toNanos(1), now::get);
  private final Instant t = Instant.parse("2026-11-22T12:00:00Z");

  /** A report with {@code n} processes numbered from {@code firstPid}, nothing else tagged. */
  private HostReport processes(String host, int firstPid, int n) {
    HostSample.Builder s =
        TestReports.sample(host, 1, t).toBuilder()
            .clearProcesses()
            .clearSysctls()
            .clearPortPressure();
    for (int i = 0; i < n; i++) s.addProcesses(TestReports.process(firstPid + i, "w", 1, 10, 0));
    return HostReport.newBuilder().setSeq(1).setSample(s).build();
  }

  @Test
  void aReportPastTheCapIsRefusedNamingTheFirstNewSeriesTooMany() {
    assertThat(budget.admit("web-1", processes("web-1", 1, 8))).isEmpty();
    var refused = budget.admit("web-1", processes("web-1", 100, 5));
    assertThat(refused).isPresent();
    assertThat(refused.get().code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.get().field()).isEqualTo("sample.processes[2]");
    assertThat(refused.get().reason()).isEqualTo("cardinality");
    assertThat(budget.seriesOf("web-1")).as("a refused report adds nothing").isEqualTo(8);
  }

  @Test
  void knownSeriesKeepPassingAtTheCap() {
    assertThat(budget.admit("web-1", processes("web-1", 1, 10))).isEmpty();
    for (int i = 0; i < 5; i++)
      assertThat(budget.admit("web-1", processes("web-1", 1, 10))).isEmpty();
    assertThat(budget.admit("web-1", processes("web-1", 3, 5))).isEmpty();
    assertThat(budget.admit("web-1", processes("web-1", 11, 1))).isPresent();
  }

  @Test
  void hostsHaveTheirOwnBudget() {
    assertThat(budget.admit("web-1", processes("web-1", 1, 10))).isEmpty();
    assertThat(budget.admit("db-1", processes("db-1", 1, 10))).isEmpty();
  }

  @Test
  void seriesNotSeenForAWindowNoLongerCount() {
    assertThat(budget.admit("web-1", processes("web-1", 1, 10))).isEmpty();
    now.addAndGet(TimeUnit.MINUTES.toNanos(31));
    // Still within the window: pids 1..10 count.
    assertThat(budget.admit("web-1", processes("web-1", 100, 1))).isPresent();
    now.addAndGet(TimeUnit.MINUTES.toNanos(61));
    assertThat(budget.admit("web-1", processes("web-1", 100, 10))).isEmpty();
    assertThat(budget.seriesOf("web-1")).isEqualTo(10);
  }

  @Test
  void seriesSeenAgainStayWhileOthersAgeOut() {
    assertThat(budget.admit("web-1", processes("web-1", 1, 10))).isEmpty();
    now.addAndGet(TimeUnit.MINUTES.toNanos(31));
    assertThat(budget.admit("web-1", processes("web-1", 1, 5))).isEmpty();
    now.addAndGet(TimeUnit.MINUTES.toNanos(31));
    // pids 6..10 were last seen over a window ago; 1..5 are recent.
    assertThat(budget.seriesOf("web-1")).isEqualTo(5);
    assertThat(budget.admit("web-1", processes("web-1", 200, 5))).isEmpty();
  }

  @Test
  void everyTaggedListCounts() {
    var r = TestReports.report("web-1", 1, t);
    // 2 processes, 1 CLOSE_WAIT peer (java), 1 port pressure remote, 2 sysctls.
    assertThat(budget.admit("web-1", r)).isEmpty();
    assertThat(budget.seriesOf("web-1")).isEqualTo(6);
  }
}
