package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TheilSenTrendTest {
  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("a line", new double[] {0, 2, 4, 6, 8, 10}, 2.0),
        Arguments.of("flat", new double[] {5, 5, 5, 5, 5}, 0.0),
        Arguments.of("a line with one spike", new double[] {0, 2, 400, 6, 8, 10, 12}, 2.0),
        Arguments.of("a line with one dip", new double[] {0, 2, 4, -300, 8, 10, 12}, 2.0),
        Arguments.of("falling", new double[] {10, 7, 4, 1}, -3.0),
        Arguments.of("two points", new double[] {1, 4}, 3.0),
        Arguments.of("one point", new double[] {1}, 0.0));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void slopeIsTheMedianPairwiseSlope(String name, double[] y, double slope) {
    double[] x = new double[y.length];
    for (int i = 0; i < x.length; i++) x[i] = i;
    assertThat(new TheilSenTrend().slope(x, y, 0, y.length)).isCloseTo(slope, within(1e-9));
  }

  @ParameterizedTest(name = "n={0}")
  @MethodSource("sizes")
  void selectAgreesWithSorting(int n) {
    Random r = new Random(n);
    double[] a = new double[n];
    for (int i = 0; i < n; i++) a[i] = r.nextInt(20); // many ties
    double[] sorted = a.clone();
    Arrays.sort(sorted);
    for (int k = 0; k < n; k++) {
      assertThat(TheilSenTrend.select(a.clone(), n, k)).as("k=%d", k).isEqualTo(sorted[k]);
    }
  }

  static Stream<Integer> sizes() {
    return Stream.of(1, 2, 3, 10, 57);
  }
}
