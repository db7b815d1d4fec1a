package io.handlewatch.collector.detect;

import java.util.List;

/**
 * The sum of several series over the window, bucket by bucket, so that a group of processes can be
 * judged as one: whether together they show the growth a trend finds, not just a rise. A series
 * counts zero before its first sample (a process held nothing before it was born) and its last
 * level through a bucket it missed.
 */
final class SeriesSum {
  private SeriesSum() {}

  /**
   * The minima of {@code series} summed, each bucket as wide as {@code noise}'s same bucket (the
   * host's own count, of which they are part), in the buckets {@code noise} has: a sum of maxima
   * would add up every member's noise as if all peaked at the same sample, and the trend would take
   * that for the noise of the sum.
   */
  static SeriesWindow of(
      List<SeriesWindow> series, SeriesWindow noise, long first, long now, Buckets buckets) {
    int n = (int) (now - first + 1);
    double[] lo = new double[n];
    double[] t = new double[buckets.count()];
    double[] sLo = new double[buckets.count()];
    double[] sHi = new double[buckets.count()];
    for (SeriesWindow s : series) {
      int m = s.copy(first, now, t, sLo, sHi);
      int j = 0;
      double last = 0;
      for (int i = 0; i < n; i++) {
        if (j < m && (long) t[j] == first + i) last = sLo[j++];
        lo[i] += last;
      }
    }
    // Only where the host was sampled: before its first report nothing is known, not zero.
    SeriesWindow sum = new SeriesWindow(buckets.count());
    int m = noise.copy(first, now, t, sLo, sHi);
    for (int j = 0; j < m; j++) {
      long b = (long) t[j];
      int i = (int) (b - first);
      long ms = b * buckets.bucketMs();
      sum.add(b, ms, lo[i]);
      sum.add(b, ms, lo[i] + (sHi[j] - sLo[j]));
    }
    return sum;
  }
}
