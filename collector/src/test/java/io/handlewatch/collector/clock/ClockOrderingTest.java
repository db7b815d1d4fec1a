package io.handlewatch.collector.clock;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Duration;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A host's placed sample times are strictly increasing in seq order, whatever its clock and the
 * network do: while the estimate settles, across NTP steps of minutes either way, and when spooled
 * reports are replayed after a reconnect (those already placed go where they went the first time).
 * The host is simulated as the agent stamps its reports (SendStamp): wall clock = true time + its
 * offset, CLOCK_MONOTONIC = true time since boot; the stream is FIFO, so a report is never received
 * before the one sent ahead of it.
 */
class ClockOrderingTest {
  private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");
  private static final Instant BOOT = T0.minusSeconds(86_400);

  private final MutableClock collector = new MutableClock(T0);
  private ClockOffsets clocks = newClocks();

  private ClockOffsets newClocks() {
    return new ClockOffsets(
        collector, java.time.Duration.ofDays(365), java.time.Duration.ofDays(7));
  }

  /** A simulated host; {@code monotonic} false: an agent whose samples carry no monotonic time. */
  private final class Host {
    final boolean monotonic;
    long offsetMs;
    Instant lastReceived = Instant.MIN;

    /** Every placement, by seq: a replay adds a second entry for its seq. */
    final TreeMap<Long, List<HostReport>> placed = new TreeMap<>();

    final Map<Long, Instant> trueSampleTime = new TreeMap<>();

    Host(boolean monotonic, long offsetMs) {
      this.monotonic = monotonic;
      this.offsetMs = offsetMs;
    }

    /** Sampled at true time {@code at}. */
    HostReport sample(long seq, Instant at) {
      trueSampleTime.put(seq, at);
      var s = TestReports.sample("h", seq, at.plusMillis(offsetMs)).toBuilder();
      if (monotonic) {
        s.setMonotonicNanos(java.time.Duration.between(BOOT, at).toNanos());
        s.setHost(s.getHost().toBuilder().setBootId("boot-1"));
      }
      return HostReport.newBuilder().setSeq(seq).setSample(s).build();
    }

    /** Sent at true time {@code at}, {@code latencyMs} on the wire, placed on arrival. */
    HostReport send(HostReport sampled, Instant at, long latencyMs) {
      Instant wallNow = at.plusMillis(offsetMs);
      long ageNanos;
      if (monotonic) {
        ageNanos =
            java.time.Duration.between(BOOT, at).toNanos()
                - sampled.getSample().getMonotonicNanos();
      } else {
        var t = sampled.getSample().getTime();
        ageNanos =
            java.time.Duration.between(Instant.ofEpochSecond(t.getSeconds(), t.getNanos()), wallNow)
                .toNanos();
      }
      var r = sampled.toBuilder().setSentTime(TestReports.ts(wallNow));
      if (ageNanos >= 0) {
        r.setSampleAge(
            Duration.newBuilder()
                .setSeconds(ageNanos / 1_000_000_000L)
                .setNanos((int) (ageNanos % 1_000_000_000L)));
      }
      Instant received = at.plusMillis(latencyMs);
      if (received.isBefore(lastReceived)) received = lastReceived;
      lastReceived = received;
      collector.set(received);
      var p = clocks.place(r.build());
      assertThat(p.refused()).as(p.refusal()).isFalse();
      placed.computeIfAbsent(sampled.getSeq(), k -> new ArrayList<>()).add(p.report());
      return p.report();
    }

    HostReport live(long seq, Instant at, long latencyMs) {
      return send(sample(seq, at), at, latencyMs);
    }

    /** The placed times in seq order, after checking that every replay went where the first did. */
    List<Long> timesInSeqOrder() {
      List<Long> out = new ArrayList<>();
      placed.forEach(
          (seq, reports) -> {
            long first = ms(reports.getFirst());
            for (HostReport r : reports) {
              assertThat(ms(r))
                  .as("seq " + seq + " sent again goes where it went")
                  .isEqualTo(first);
              assertThat(r.getSample().getClockOffsetMs())
                  .isEqualTo(reports.getFirst().getSample().getClockOffsetMs());
            }
            out.add(first);
          });
      return out;
    }

    void assertStrictlyIncreasing() {
      List<Long> times = timesInSeqOrder();
      for (int i = 1; i < times.size(); i++) {
        assertThat(times.get(i))
            .as("seq %d placed after seq %d: %s", i + 1, i, times)
            .isGreaterThan(times.get(i - 1));
      }
    }

    /** Placed ms minus true sample ms, per seq. */
    List<Long> errors() {
      List<Long> out = new ArrayList<>();
      placed.forEach(
          (seq, reports) ->
              out.add(ms(reports.getFirst()) - trueSampleTime.get(seq).toEpochMilli()));
      return out;
    }

    List<Long> steps() {
      List<Long> out = new ArrayList<>();
      placed.forEach(
          (seq, reports) -> {
            for (HostReport r : reports) {
              if (r.getSample().hasClockStepMs()) out.add(r.getSample().getClockStepMs());
            }
          });
      return out;
    }
  }

  private static long ms(HostReport r) {
    return ReportPoints.timeOf(r).toEpochMilli();
  }

  private static Instant at(double seconds) {
    return T0.plusMillis(Math.round(seconds * 1000));
  }

  @Test
  void whileTheEstimateSettlesALaterSampleIsNeverPlacedBeforeAnEarlierOne() {
    for (boolean monotonic : new boolean[] {true, false}) {
      Host h = new Host(monotonic, -3_600_000);
      // The first report crawls through a cold collector (3 s); the stream then breaks, and the
      // two samples taken meanwhile are replayed fast: the estimate jumps 3 s at once.
      h.live(1, at(0), 3_000);
      HostReport two = h.sample(2, at(2));
      HostReport three = h.sample(3, at(4));
      h.send(two, at(4.5), 2);
      h.send(three, at(4.5), 2);
      for (int i = 4; i < 10; i++) h.live(i, at(2 * (i - 1)), 2);
      h.assertStrictlyIncreasing();
      // Settled: placed within the smallest latency of the truth.
      assertThat(h.errors().getLast()).isBetween(0L, 2L);
      if (monotonic) {
        assertThat(h.steps()).as("a settling estimate is no clock step").isEmpty();
        assertThat(clocks.of("h").orElseThrow().lastStepMs()).isNull();
      }
      clocks = newClocks();
    }
  }

  @Test
  void aStepOfMinutesForwardThenBackKeepsOrderAndIsMeasuredExactly() {
    Host h = new Host(true, 0);
    long seq = 0;
    for (int i = 0; i < 60; i++) {
      if (i == 20) h.offsetMs = 300_000;
      if (i == 40) h.offsetMs = 0;
      // A report held up now and then: never a step, never out of order.
      h.live(++seq, at(2 * i), i % 7 == 3 ? 1_800 : 3);
    }
    h.assertStrictlyIncreasing();
    assertThat(h.steps()).containsExactly(300_000L, -300_000L);
    assertThat(h.errors()).allSatisfy(e -> assertThat(e).isBetween(0L, 3L));
    var state = clocks.of("h").orElseThrow();
    assertThat(state.lastStepMs()).isEqualTo(-300_000L);
  }

  @Test
  void aStepWithoutMonotonicTimeStillKeepsOrder() {
    Host h = new Host(false, 0);
    for (int i = 0; i < 60; i++) {
      if (i == 20) h.offsetMs = 300_000;
      if (i == 40) h.offsetMs = -120_000;
      h.live(i + 1, at(2 * i), i % 7 == 3 ? 1_800 : 3);
    }
    h.assertStrictlyIncreasing();
  }

  @Test
  void spooledReportsReplayedAfterAReconnectKeepOrderAndGoWhereTheyWentBefore() {
    Host h = new Host(true, 3_600_000);
    for (int i = 1; i <= 10; i++) h.live(i, at(2 * i), 2);
    // The stream breaks: 8-10 were placed but their acks lost. 11-40 are spooled meanwhile, the
    // clock steps back 5 minutes during the outage, and on reconnect 8-40 are sent again in a
    // burst.
    List<HostReport> spooled = new ArrayList<>();
    for (int i = 11; i <= 40; i++) spooled.add(h.sample(i, at(2 * i)));
    h.offsetMs = 3_300_000;
    List<HostReport> again = new ArrayList<>();
    for (long s = 8; s <= 10; s++) again.add(h.placed.get(s).getFirst());
    for (HostReport r : again) {
      // What the agent resends is what it sampled: its own time, no clock fields.
      var sample =
          r.getSample().toBuilder()
              .setTime(r.getSample().getAgentTime())
              .clearAgentTime()
              .clearClockOffsetMs()
              .clearClockStepMs();
      h.send(r.toBuilder().setSample(sample).build(), at(82), 40);
    }
    for (HostReport r : spooled) h.send(r, at(82), 40);
    for (int i = 41; i <= 50; i++) h.live(i, at(2 * i), 2);
    h.assertStrictlyIncreasing();
    assertThat(h.placed.get(9L)).hasSize(2);
    assertThat(h.steps()).containsExactly(-300_000L);
    assertThat(h.errors()).allSatisfy(e -> assertThat(e).isBetween(0L, 2L));
  }

  /**
   * Many random hosts: offsets up to a day either way, latency mostly milliseconds with reports
   * held up for seconds, a slow first report, steps of minutes either way, outages whose spooled
   * reports (and some already placed) are replayed in a burst.
   */
  @Test
  void randomClocksAndNetworksNeverReorderAHostsSamples() {
    Random rnd = new Random(17);
    for (int run = 0; run < 300; run++) {
      clocks = newClocks();
      boolean monotonic = run % 3 != 0;
      Host h = new Host(monotonic, (long) ((rnd.nextDouble() - 0.5) * 2 * 86_400_000));
      double interval = 0.5 + rnd.nextInt(10);
      int injectedSteps = 0;
      long seq = 0;
      double t = 0;
      List<HostReport> unsent = new ArrayList<>();
      for (int i = 0; i < 120; i++) {
        t += interval;
        if (rnd.nextInt(40) == 0) {
          h.offsetMs += (rnd.nextBoolean() ? 1 : -1) * (60_000L + rnd.nextInt(600_000));
          injectedSteps++;
        }
        HostReport s = h.sample(++seq, at(t));
        if (rnd.nextInt(30) == 0 || !unsent.isEmpty() && rnd.nextInt(4) != 0) {
          unsent.add(s); // the stream is down: spooled
          continue;
        }
        if (!unsent.isEmpty()) {
          // Reconnected: the last few already placed, whose acks were lost, go again first.
          long lost = Math.min(rnd.nextInt(9), h.placed.isEmpty() ? 0 : h.placed.size());
          List<Long> placedSeqs = new ArrayList<>(h.placed.keySet());
          for (long q : placedSeqs.subList(placedSeqs.size() - (int) lost, placedSeqs.size())) {
            HostReport r = h.placed.get(q).getFirst();
            var sample =
                r.getSample().toBuilder()
                    .setTime(r.getSample().getAgentTime())
                    .clearAgentTime()
                    .clearClockOffsetMs()
                    .clearClockStepMs();
            h.send(r.toBuilder().setSample(sample).build(), at(t), latency(rnd));
          }
          for (HostReport r : unsent) h.send(r, at(t), latency(rnd));
          unsent.clear();
        }
        h.send(s, at(t), i == 0 ? 500 + rnd.nextInt(5_000) : latency(rnd));
      }
      h.assertStrictlyIncreasing();
      if (monotonic) {
        assertThat(h.steps().size()).as("run %d", run).isLessThanOrEqualTo(injectedSteps);
        // Placed at the truth plus a latency, never before it (the clamp only ever delays).
        assertThat(h.errors()).allSatisfy(e -> assertThat(e).isBetween(0L, 7_000L));
      }
    }
  }

  private static long latency(Random rnd) {
    return rnd.nextInt(20) == 0 ? 1_000 + rnd.nextInt(4_000) : 1 + rnd.nextInt(20);
  }
}
