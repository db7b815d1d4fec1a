package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClockOffsetRuleTest {
  static final Instant T0 = Instant.parse("2026-11-20T08:00:00Z");
  final List<Alert> alerts = new ArrayList<>();

  private static HostReport withOffset(long seq, Instant at, Long offsetMs, Long stepMs) {
    HostReport r = TestReports.report("skewed", seq, at);
    var s = r.getSample().toBuilder();
    if (offsetMs != null) s.setClockOffsetMs(offsetMs);
    if (stepMs != null) s.setClockStepMs(stepMs);
    return r.toBuilder().setSample(s).build();
  }

  @Test
  void anHourBehindPagesCriticalAndTwoSecondsIsNothing() {
    var e =
        new DetectionEngine(new DetectionFactory().build(), alerts::add, p -> {}, h -> Map.of());
    assertThat(e.evaluate(withOffset(1, T0, -1_900L, null)))
        .noneMatch(v -> v.kind() == Kind.CLOCK_OFFSET);
    // Confirmed by three reports in a row: one report held up in transit is no clock.
    assertThat(e.evaluate(withOffset(2, T0.plusSeconds(2), -3_600_000L, null)))
        .noneMatch(v -> v.kind() == Kind.CLOCK_OFFSET);
    e.evaluate(withOffset(3, T0.plusSeconds(4), -1_000L, null));
    e.evaluate(withOffset(4, T0.plusSeconds(6), -3_600_000L, null));
    e.evaluate(withOffset(5, T0.plusSeconds(8), -3_600_000L, null));
    assertThat(alerts).isEmpty();

    List<Verdict> out = e.evaluate(withOffset(6, T0.plusSeconds(10), -3_600_000L, null));

    Verdict v = out.stream().filter(x -> x.kind() == Kind.CLOCK_OFFSET).findFirst().orElseThrow();
    assertThat(v.severity()).isEqualTo(Severity.CRITICAL);
    assertThat(v.summary()).isEqualTo("skewed: clock 3,600 s behind the collector");
    assertThat(v.value()).isEqualTo(-3600.0);
    assertThat(v.limit()).isEqualTo(60.0);
    assertThat(alerts)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.labels())
                  .containsEntry("alertname", "HostClockOffset")
                  .containsEntry("severity", "critical")
                  .containsEntry("host", "skewed");
              assertThat(a.annotations().get("runbook_url")).endsWith("#clock_offset");
            });
  }

  @Test
  void aFewSecondsAheadPagesAtWarningOnceAndTheStepIsInTheEvidence() {
    var config = new DetectionFactory();
    var e = new DetectionEngine(config.build(), alerts::add, p -> {}, h -> Map.of());
    e.evaluate(withOffset(1, T0, 5_000L, null));
    e.evaluate(withOffset(2, T0.plusSeconds(2), 5_000L, null));
    List<Verdict> first = e.evaluate(withOffset(3, T0.plusSeconds(4), 5_000L, 5_000L));
    for (int i = 3; i < 6; i++) e.evaluate(withOffset(i + 1, T0.plusSeconds(2L * i), 5_000L, null));
    assertThat(first)
        .filteredOn(v -> v.kind() == Kind.CLOCK_OFFSET)
        .singleElement()
        .satisfies(v -> assertThat(v.description()).contains("It just stepped by 5 s."));
    assertThat(alerts)
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.labels()).containsEntry("severity", "warning");
              assertThat(a.annotations().get("summary"))
                  .contains("clock 5 s ahead of the collector");
            });
    assertThat(e.view().verdicts("skewed"))
        .anySatisfy(v -> assertThat(v.description()).doesNotContain("stepped"));
  }

  @Test
  void aReportWithoutAMeasuredOffsetIsNotJudged() {
    var e =
        new DetectionEngine(new DetectionFactory().build(), alerts::add, p -> {}, h -> Map.of());
    assertThat(e.evaluate(withOffset(1, T0, null, null)))
        .noneMatch(v -> v.kind() == Kind.CLOCK_OFFSET);
    assertThat(alerts).isEmpty();
  }
}
