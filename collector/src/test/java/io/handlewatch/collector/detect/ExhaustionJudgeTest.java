package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Severity and ETA from (trend, level, limit) with the default thresholds. */
class ExhaustionJudgeTest {
  static Trend growing(double slope) {
    return new Trend(true, slope, 0, 100, 10, 0);
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        // name, trend, level, limit, severity, eta minutes (-1: none)
        Arguments.of("flat, half used", Trend.NONE, 500, 1000, null, -1),
        Arguments.of("flat, 91 % used", Trend.NONE, 910, 1000, Severity.CRITICAL, -1),
        Arguments.of("growing, 30 min left", growing(10), 700, 1000, Severity.CRITICAL, 30),
        Arguments.of("growing, 60 min left", growing(5), 700, 1000, Severity.CRITICAL, 60),
        Arguments.of("growing, 2 h left", growing(2.5), 700, 1000, Severity.WARNING, 120),
        Arguments.of("growing, 23 h left", growing(1), 0, 1380, Severity.WARNING, 1380),
        Arguments.of("growing, 2 days left", growing(1), 0, 2880, Severity.INFO, 2880),
        Arguments.of(
            "growing but not sustained", new Trend(false, 50, 0, 10, 10, 0), 700, 1000, null, -1),
        Arguments.of("at the limit", growing(1), 1000, 1000, Severity.CRITICAL, 0),
        Arguments.of("no limit known", growing(10), 700, Double.NaN, null, -1));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void judge(String name, Trend t, double level, double limit, Severity s, long etaMinutes) {
    var j = new ExhaustionJudge(new DetectionFactory.Exhaustion().build()).judge(t, level, limit);
    assertThat(j.severity()).isEqualTo(s);
    assertThat(j.eta()).isEqualTo(etaMinutes < 0 ? null : Duration.ofMinutes(etaMinutes));
  }
}
