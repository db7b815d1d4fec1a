package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: a value as a function of minutes, sampled every 10 s into a 30-minute window of
 * 30-second buckets, and what the trend must say after {@code minutes}.
 */
class EnvelopeTrendTest {
  static final Buckets BUCKETS =
      Buckets.of(java.time.Duration.ofMinutes(30), java.time.Duration.ofSeconds(30));

  /** Expected: growing or not, and the slope per minute (when growing) within 20 %. */
  record Expect(boolean growing, double slope) {}

  static Stream<Arguments> cases() {
    Random r = new Random(7);
    return Stream.of(
        Arguments.of("flat", (DoubleUnaryOperator) m -> 500, 30, new Expect(false, 0)),
        Arguments.of(
            "noise ±100",
            (DoubleUnaryOperator) m -> 500 + r.nextInt(201) - 100,
            30,
            new Expect(false, 0)),
        Arguments.of(
            "a leak of 20/min", (DoubleUnaryOperator) m -> 500 + 20 * m, 30, new Expect(true, 20)),
        Arguments.of(
            "a leak of 20/min that began 8 min ago: fitted since its onset",
            (DoubleUnaryOperator) m -> 500 + 20 * Math.max(0, m - 22),
            30,
            new Expect(true, 20)),
        Arguments.of(
            "a leak with spikes every 3 min",
            (DoubleUnaryOperator) m -> 500 + 20 * m + ((int) (m * 6) % 18 == 0 ? 5_000 : 0),
            30,
            new Expect(true, 20)),
        Arguments.of(
            "a leak of 40/min that began 8 min ago on a sawtooth climbing 50/min between releases"
                + " every 6 min",
            (DoubleUnaryOperator) m -> 1_000 + 50 * ((m + 2.2) % 6) + 40 * Math.max(0, m - 22),
            30,
            new Expect(true, 40)),
        Arguments.of(
            "a leak of 60/min, 9 min in, on a sawtooth climbing 40/min between releases every 7 min:"
                + " the long-run pace, trough to trough, not one tooth's (100/min)",
            (DoubleUnaryOperator) m -> 1_000 + 40 * ((m + 4.1) % 7) + 60 * Math.max(0, m - 21),
            30,
            new Expect(true, 60)),
        Arguments.of(
            "a step 10 min ago",
            (DoubleUnaryOperator) m -> m < 20 ? 500 : 3_000,
            30,
            new Expect(false, 0)),
        Arguments.of(
            "a step 3 min ago",
            (DoubleUnaryOperator) m -> m < 27 ? 500 : 3_000,
            30,
            new Expect(false, 0)),
        Arguments.of(
            "a sawtooth released every 8 min",
            (DoubleUnaryOperator) m -> 500 + 100 * (m % 8),
            30,
            new Expect(false, 0)),
        Arguments.of(
            "a sawtooth whose troughs rise 10/min, while its ramp is below the last peak",
            (DoubleUnaryOperator) m -> 500 + 10 * m + 100 * (m % 8),
            30,
            new Expect(false, 0)),
        Arguments.of(
            "noise ±100 whose newest complete bucket holds only high samples",
            (DoubleUnaryOperator) m -> m >= 29 && m < 29.5 ? 690 : 500 + r.nextInt(201) - 100,
            30,
            new Expect(false, 0)),
        Arguments.of(
            "a slow wander rising back into the band it reached 20 min ago",
            (DoubleUnaryOperator)
                m -> 500 - 100 * Math.cos(2 * Math.PI * m / 20) + r.nextInt(41) - 20,
            30.5,
            new Expect(false, 0)),
        Arguments.of(
            "a leak that stopped 20 min ago",
            (DoubleUnaryOperator) m -> 500 + 50 * Math.min(m, 10),
            30,
            new Expect(false, 0)),
        Arguments.of(
            "a leak, but only 10 min of history (a pool may not have released yet)",
            (DoubleUnaryOperator) m -> 500 + 20 * m,
            10,
            new Expect(false, 0)),
        Arguments.of(
            "a leak of 20/min for 90 s: too short",
            (DoubleUnaryOperator) m -> 500 + 20 * Math.max(0, m - 28.5),
            30,
            new Expect(false, 0)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void trend(String name, DoubleUnaryOperator value, double minutes, Expect expect) {
    SeriesWindow s = new SeriesWindow(BUCKETS.count());
    long t0 = 1_700_000_000_000L;
    long last = t0;
    for (double m = 0; m <= minutes; m += 1 / 6.0) {
      last = t0 + (long) (m * 60_000);
      s.add(BUCKETS.bucketOf(last), last, value.applyAsDouble(m));
    }
    long now = BUCKETS.bucketOf(last);
    Trend t =
        new EnvelopeTrend(BUCKETS.count(), BUCKETS.minutes(), 15)
            .analyze(s, BUCKETS.first(now), now, 2, 2);
    assertThat(t.growing()).as("growing, %s", t).isEqualTo(expect.growing());
    if (expect.growing()) {
      assertThat(t.slopePerMin()).isCloseTo(expect.slope(), within(expect.slope() / 5));
    }
  }
}
