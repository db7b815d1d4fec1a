package io.handlewatch.collector.detect;

import java.util.Arrays;

/**
 * SeriesWindow as it was, two floats per bucket: the reference the compact one must match value for
 * value (SeriesWindowTest). Test only.
 */
final class FloatSeriesWindow {
  private final float[] min;
  private final float[] max;
  private long newest = Long.MIN_VALUE;
  private long oldest = Long.MIN_VALUE;
  private double last = Double.NaN;
  private long lastMs;

  FloatSeriesWindow(int buckets) {
    min = new float[buckets];
    max = new float[buckets];
    Arrays.fill(min, Float.NaN);
    Arrays.fill(max, Float.NaN);
  }

  /** Adds a sample at {@code timeMs} falling in bucket {@code bucket}. */
  void add(long bucket, long timeMs, double value) {
    if (Double.isNaN(value)) return;
    int cap = min.length;
    if (newest == Long.MIN_VALUE || bucket >= newest + cap) {
      Arrays.fill(min, Float.NaN);
      Arrays.fill(max, Float.NaN);
      newest = bucket;
      oldest = bucket;
    } else if (bucket > newest) {
      for (long b = newest + 1; b <= bucket; b++) {
        int i = index(b);
        min[i] = Float.NaN;
        max[i] = Float.NaN;
      }
      newest = bucket;
    } else if (bucket <= newest - cap) {
      return; // older than the window: a late replay the trend no longer needs
    }
    int i = index(bucket);
    float v = (float) value;
    if (Float.isNaN(min[i])) {
      min[i] = v;
      max[i] = v;
    } else {
      if (v < min[i]) min[i] = v;
      if (v > max[i]) max[i] = v;
    }
    if (timeMs >= lastMs) {
      last = value;
      lastMs = timeMs;
    }
  }

  private int index(long bucket) {
    return (int) Math.floorMod(bucket, (long) min.length);
  }

  /** The newest sample's value, NaN before any. */
  double last() {
    return last;
  }

  long lastMs() {
    return lastMs;
  }

  long newestBucket() {
    return newest;
  }

  /** The first bucket of this series' unbroken history (a gap longer than the window resets it). */
  long oldestBucket() {
    return oldest;
  }

  /**
   * Copies the buckets from {@code firstBucket} through {@code lastBucket} that hold samples,
   * oldest first, into {@code t} (bucket number), {@code lo} and {@code hi}; returns how many.
   */
  int copy(long firstBucket, long lastBucket, double[] t, double[] lo, double[] hi) {
    if (newest == Long.MIN_VALUE) return 0;
    long from = Math.max(firstBucket, newest - min.length + 1);
    long to = Math.min(lastBucket, newest);
    int n = 0;
    for (long b = from; b <= to; b++) {
      int i = index(b);
      if (Float.isNaN(min[i])) continue;
      t[n] = b;
      lo[n] = min[i];
      hi[n] = max[i];
      n++;
    }
    return n;
  }

  /**
   * A window holding {@code value} in every bucket before {@code before} where {@code shape} has a
   * sample, as old as {@code shape}: the history of a count that was known to be zero (a process's
   * CLOSE_WAIT sockets while it held none) when it first becomes non-zero, so that growth from zero
   * is growth.
   */
  static FloatSeriesWindow filledLike(
      FloatSeriesWindow shape, long before, int buckets, double value) {
    FloatSeriesWindow w = new FloatSeriesWindow(buckets);
    if (shape.newest == Long.MIN_VALUE) return w;
    long from = Math.max(shape.oldest, shape.newest - shape.min.length + 1);
    for (long b = from; b <= Math.min(shape.newest, before - 1); b++) {
      if (Float.isNaN(shape.min[shape.index(b)])) continue;
      w.add(b, shape.lastMs, value);
    }
    w.oldest = shape.oldest;
    return w;
  }

  /** The lowest value from {@code bucket} on, NaN when no sample is that recent. */
  double minSince(long bucket) {
    double m = Double.NaN;
    if (newest == Long.MIN_VALUE) return m;
    for (long b = Math.max(bucket, newest - min.length + 1); b <= newest; b++) {
      float v = min[index(b)];
      if (!Float.isNaN(v) && !(v >= m)) m = v;
    }
    return m;
  }
}
