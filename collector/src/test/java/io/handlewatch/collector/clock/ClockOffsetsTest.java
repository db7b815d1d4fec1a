package io.handlewatch.collector.clock;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Duration;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ClockOffsetsTest {
  private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");
  private final MutableClock collector = new MutableClock(T0);
  private final ClockOffsets clocks =
      new ClockOffsets(collector, java.time.Duration.ofDays(365), java.time.Duration.ofDays(7));

  /**
   * A report sampled at true time {@code sampledAt} by a host whose clock is {@code offsetAtSample}
   * off then and {@code offsetAtSend} off when it is sent at true time {@code sentAt}; received
   * {@code latencyMs} later (the collector's clock is set to the receive time).
   */
  private HostReport sent(
      long seq,
      Instant sampledAt,
      long offsetAtSampleMs,
      Instant sentAt,
      long offsetAtSendMs,
      long latencyMs) {
    collector.set(sentAt.plusMillis(latencyMs));
    long ageNanos = java.time.Duration.between(sampledAt, sentAt).toNanos();
    return TestReports.report("h", seq, sampledAt.plusMillis(offsetAtSampleMs)).toBuilder()
        .setSentTime(TestReports.ts(sentAt.plusMillis(offsetAtSendMs)))
        .setSampleAge(
            Duration.newBuilder()
                .setSeconds(ageNanos / 1_000_000_000L)
                .setNanos((int) (ageNanos % 1_000_000_000L)))
        .build();
  }

  private HostReport live(long seq, Instant at, long offsetMs, long latencyMs) {
    return sent(seq, at, offsetMs, at, offsetMs, latencyMs);
  }

  private static Instant time(HostReport r) {
    return ReportPoints.timeOf(r);
  }

  @Test
  void aClockAnHourBehindIsMeasuredAndItsSamplesStoredOnTheCollectorsTimeline() {
    for (int i = 0; i < 10; i++) {
      Instant at = T0.plusSeconds(2L * i);
      var placed = clocks.place(live(i + 1, at, -3_600_000, 3 + (i % 3) * 20));
      assertThat(placed.refused()).isFalse();
      // Within the one-way latency of the truth, never before it.
      assertThat(time(placed.report())).isBetween(at, at.plusMillis(63));
      assertThat(placed.report().getSample().getAgentTime())
          .isEqualTo(TestReports.ts(at.minusSeconds(3600)));
      assertThat(placed.report().getSample().getClockOffsetMs())
          .isBetween(-3_600_063L, -3_600_003L);
    }
    // The least-delayed measurement wins: latency only ever makes the clock look further behind.
    assertThat(clocks.of("h").orElseThrow().offsetMs()).isEqualTo(-3_600_003L);
    assertThat(clocks.of("h").orElseThrow().refusals()).isZero();
    assertThat(clocks.of("h").orElseThrow().lastStepMs()).isNull();
  }

  @Test
  void aClockAnHourAheadIsNoLongerRefused() {
    var placed = clocks.place(live(1, T0, 3_600_000, 5));
    assertThat(placed.refused()).isFalse();
    assertThat(time(placed.report())).isEqualTo(T0.plusMillis(5));
    assertThat(placed.report().getSample().getClockOffsetMs()).isEqualTo(3_599_995L);
  }

  @Test
  void aSpooledReportIsPlacedByItsAgeEvenAcrossAStepWhileItWaited() {
    // Sampled at T0 on a correct clock; the clock then stepped back 5 min; sent 10 min later.
    clocks.place(live(1, T0.minusSeconds(10), 0, 2));
    Instant sentAt = T0.plusSeconds(600);
    var placed = clocks.place(sent(2, T0, 0, sentAt, -300_000, 2));

    assertThat(placed.refused()).isFalse();
    assertThat(time(placed.report())).isBetween(T0, T0.plusMillis(5));
    assertThat(placed.report().getSample().getAgentTime()).isEqualTo(TestReports.ts(T0));
  }

  @Test
  void aStepBackMidStreamKeepsSamplesInOrderAndIsRecordedOnce() {
    Instant last = Instant.MIN;
    int steps = 0;
    for (int i = 0; i < 30; i++) {
      Instant at = T0.plusSeconds(2L * i);
      long offset = i < 15 ? 0 : -300_000;
      var placed = clocks.place(live(i + 1, at, offset, 4));
      Instant t = time(placed.report());
      assertThat(t).isAfter(last).isBetween(at, at.plusMillis(4));
      last = t;
      if (placed.report().getSample().hasClockStepMs()) {
        steps++;
        assertThat(placed.report().getSample().getClockStepMs()).isEqualTo(-300_000L);
      }
    }
    assertThat(steps).isEqualTo(1);
    var state = clocks.of("h").orElseThrow();
    assertThat(state.lastStepMs()).isEqualTo(-300_000L);
    assertThat(state.offsetMs()).isEqualTo(-300_004L);
  }

  @Test
  void aStepForwardIsTakenAtOnce() {
    clocks.place(live(1, T0, 0, 4));
    var placed = clocks.place(live(2, T0.plusSeconds(2), 120_000, 4));
    assertThat(placed.report().getSample().getClockStepMs()).isEqualTo(120_000L);
    assertThat(time(placed.report())).isEqualTo(T0.plusSeconds(2).plusMillis(4));
  }

  @Test
  void oneDelayedReportIsPlacedByItsOwnMeasurementAndIsNoStep() {
    for (int i = 0; i < 5; i++) clocks.place(live(i + 1, T0.plusSeconds(2L * i), -10_000, 2));
    var delayed = clocks.place(live(6, T0.plusSeconds(10), -10_000, 4_000));
    var next = clocks.place(live(7, T0.plusSeconds(12), -10_000, 2));

    assertThat(delayed.report().getSample().hasClockStepMs()).isFalse();
    assertThat(next.report().getSample().hasClockStepMs()).isFalse();
    assertThat(time(next.report())).isEqualTo(T0.plusSeconds(12).plusMillis(2));
    assertThat(clocks.of("h").orElseThrow().offsetMs()).isEqualTo(-10_002L);
  }

  @Test
  void aWellSyncedHostKeepsItsOwnTimes() {
    var placed = clocks.place(live(1, T0, 40, 7));
    assertThat(time(placed.report())).isEqualTo(T0.plusMillis(40));
    assertThat(placed.report().getSample().getClockOffsetMs()).isEqualTo(33L);
  }

  @Test
  void anAgentWithoutSendTimesIsStoredAtItsOwnTimeAndMeasuresNothing() {
    // Nothing tells a replayed report from a live one: a fast replay must not look like a clock.
    collector.set(T0.plusMillis(5));
    var replayed = clocks.place(TestReports.report("h", 1, T0.minusSeconds(1500)));
    assertThat(replayed.report()).isEqualTo(TestReports.report("h", 1, T0.minusSeconds(1500)));
    assertThat(clocks.of("h").orElseThrow().offsetMs()).isNull();
    var yearsAhead = clocks.place(TestReports.report("h", 2, T0.plusSeconds(2 * 365 * 86_400L)));
    assertThat(yearsAhead.refusedField()).isEqualTo("sample.time");
    assertThat(clocks.of("h").orElseThrow().refusals()).isEqualTo(1);
  }

  @Test
  void onlyTimesThatCannotBeRightAreRefusedAndCountedPerHost() {
    // Years away.
    var years = clocks.place(live(1, T0, -2 * 365 * 86_400_000L, 3));
    assertThat(years.refused()).isTrue();
    assertThat(years.refusedField()).isEqualTo("sent_time");
    assertThat(years.refusal()).contains("behind the collector's").contains("maxClockOffset");
    // Sampled after it was sent.
    var negative =
        clocks.place(
            live(2, T0, 0, 3).toBuilder()
                .setSampleAge(Duration.newBuilder().setSeconds(-5))
                .build());
    assertThat(negative.refused()).isTrue();
    assertThat(negative.refusedField()).isEqualTo("sample_age");
    // Older than maxAge once placed.
    var old = clocks.place(sent(3, T0.minusSeconds(8 * 86_400), 0, T0, 0, 3));
    assertThat(old.refused()).isTrue();
    assertThat(old.refusal()).contains("maxAge");

    var state = clocks.of("h").orElseThrow();
    assertThat(state.refusals()).isEqualTo(3);
    assertThat(state.lastRefusal()).contains("maxAge");
    assertThat(state.lastRefusalAt()).isEqualTo(T0.plusMillis(3));
    assertThat(clocks.all()).extracting(HostClockState::host).containsExactly("h");
  }

  @Test
  void theStoredPointsKeepTheAgentsTimeAndTheOffset() {
    var placed = clocks.place(live(1, T0, -3_600_000, 5)).report();
    StoredPoint clock =
        ReportPoints.of(placed).stream()
            .filter(p -> p.measurement().equals("clock"))
            .findFirst()
            .orElseThrow();
    assertThat(clock.time()).isEqualTo(T0.plusMillis(5));
    assertThat(clock.fields())
        .containsEntry("agent_time_ms", T0.minusSeconds(3600).toEpochMilli())
        .containsEntry("offset_ms", -3_600_005L)
        .doesNotContainKey("step_ms");
  }

  @Test
  void textReadsLikeThePage() {
    assertThat(ClockText.offset(-3_600_000) + " the collector")
        .isEqualTo("3,600 s behind the collector");
    assertThat(ClockText.offset(2_500) + " the collector")
        .isEqualTo("2.5 s ahead of the collector");
  }
}
