package io.handlewatch.collector.detect;

/**
 * The Theil–Sen slope: the median of the slopes between every pair of points. A single spike moves
 * it by at most one rank, where it can pull a least-squares fit as far as it likes; up to 29 % of
 * the points may be wild before it breaks down. Quadratic in the points, so callers pass a window's
 * buckets (tens), not its raw samples.
 */
final class TheilSenTrend {
  private double[] slopes = new double[64];

  /** The median pairwise slope of points {@code from} (inclusive) to {@code to} (exclusive). */
  double slope(double[] x, double[] y, int from, int to) {
    int n = to - from;
    if (n < 2) return 0;
    int pairs = n * (n - 1) / 2;
    if (slopes.length < pairs) slopes = new double[Math.max(pairs, slopes.length * 2)];
    int k = 0;
    for (int i = from; i < to; i++) {
      for (int j = i + 1; j < to; j++) {
        double dx = x[j] - x[i];
        if (dx > 0) slopes[k++] = (y[j] - y[i]) / dx;
      }
    }
    if (k == 0) return 0;
    if (k % 2 == 1) return select(slopes, k, k / 2);
    double a = select(slopes, k, k / 2 - 1);
    double b = select(slopes, k, k / 2);
    return (a + b) / 2;
  }

  /** The k-th smallest of {@code a[0..n)} (Hoare's selection; reorders a). */
  static double select(double[] a, int n, int k) {
    int lo = 0;
    int hi = n - 1;
    while (lo < hi) {
      double pivot = a[(lo + hi) >>> 1];
      int i = lo;
      int j = hi;
      while (i <= j) {
        while (a[i] < pivot) i++;
        while (a[j] > pivot) j--;
        if (i <= j) {
          double t = a[i];
          a[i] = a[j];
          a[j] = t;
          i++;
          j--;
        }
      }
      if (k <= j) hi = j;
      else if (k >= i) lo = i;
      else return a[k];
    }
    return a[k];
  }
}
