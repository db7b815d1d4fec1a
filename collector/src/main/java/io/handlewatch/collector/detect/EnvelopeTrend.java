package io.handlewatch.collector.detect;

/**
 * Finds sustained growth in a {@link SeriesWindow}, robust to what fd and socket counts do when
 * nothing leaks. The evaluation (DetectionEvaluationTest, BENCHMARKS.md) is what chose each step:
 *
 * <ol>
 *   <li><b>History.</b> A series watched for less than {@code minHistory} shows no trend: a pool
 *       that releases every ten minutes looks like a leak until one release is in view (after a
 *       restart of the collector, or of the process).
 *   <li><b>Lower envelope.</b> Each bucket's minimum, then the running minimum from the newest
 *       bucket back ({@code env[i] = min(lo[i..n))}): a spike or a burst of short-lived connections
 *       never raises it, and only a level that stays up does.
 *   <li><b>Onset.</b> The last bucket whose envelope is still within the noise of the window's
 *       floor: the fit starts there, so a leak that began ten minutes into a flat window is fitted
 *       over those ten minutes, not diluted by the flat part (a whole-window fit underestimates the
 *       slope, and so overestimates the ETA, by as much as the flat share of the window).
 *   <li><b>Release.</b> If the value stood clearly higher before the onset than at it, something
 *       released what had been held (a pool's periodic clean-up): the fit then covers the whole
 *       window, so it follows the troughs, which are flat for a sawtooth and rise for a leak.
 *   <li><b>Theil–Sen</b> over the envelope from the onset: resistant to the odd wild bucket.
 *   <li><b>Sustained.</b> Each half of the span must carry a quarter of the rise the slope predicts
 *       for it, and the slope must account for a third of the whole rise (a one-off step puts all
 *       its rise in one jump and leaves the median slope near zero); the rise must be three times
 *       the noise (the median spread within a bucket), and the span long enough.
 * </ol>
 *
 * One instance per detector thread: it reuses its scratch arrays.
 */
final class EnvelopeTrend {
  private static final double NOISE_MULTIPLE = 3;
  private static final double HALF_SHARE = 0.25;
  private static final int MIN_POINTS = 4;

  /** The slope must explain a third of the rise: a step's rise is all in one jump, not a slope. */
  private static final double LINEAR_SHARE = 3;

  private final double bucketMinutes;
  private final long minHistoryBuckets;
  private final TheilSenTrend theilSen = new TheilSenTrend();
  private double[] t;
  private double[] lo;
  private double[] hi;
  private double[] env;
  private double[] scratch;

  /**
   * @param minHistoryMinutes how long a series must have been watched before it can show growth:
   *     until a pool has released at least once in view, its first ramp looks like a leak
   */
  EnvelopeTrend(int buckets, double bucketMinutes, double minHistoryMinutes) {
    this.bucketMinutes = bucketMinutes;
    this.minHistoryBuckets = (long) Math.ceil(minHistoryMinutes / bucketMinutes);
    t = new double[buckets];
    lo = new double[buckets];
    hi = new double[buckets];
    env = new double[buckets];
    scratch = new double[buckets];
  }

  /**
   * The trend of {@code s} over buckets {@code first..now}.
   *
   * @param minSpanMinutes growth must have held at least this long
   * @param tolerance jitter below which a change is no change (in the series' units)
   */
  Trend analyze(SeriesWindow s, long first, long now, double minSpanMinutes, double tolerance) {
    if (now - s.oldestBucket() < minHistoryBuckets) return Trend.NONE;
    int n = s.copy(first, now, t, lo, hi);
    if (n < MIN_POINTS) return Trend.NONE;
    double floor = lo[0];
    for (int i = 1; i < n; i++) floor = Math.min(floor, lo[i]);
    if (lo[n - 1] - floor <= tolerance) return Trend.NONE; // the common case: flat

    for (int i = 0; i < n; i++) scratch[i] = hi[i] - lo[i];
    double tol = Math.max(tolerance, TheilSenTrend.select(scratch, n, n / 2));
    if (lo[n - 1] - floor <= tol) return Trend.NONE;

    env[n - 1] = lo[n - 1];
    for (int i = n - 2; i >= 0; i--) env[i] = Math.min(lo[i], env[i + 1]);
    int onset = 0;
    for (int i = 0; i < n; i++) if (env[i] <= env[0] + tol) onset = i;
    if (onset > 0) {
      double before = hi[0];
      for (int i = 1; i < onset; i++) before = Math.max(before, hi[i]);
      double rise = env[n - 1] - env[onset];
      if (before > env[onset] + Math.max(tol, rise / 2)) onset = 0; // released: follow the troughs
    }

    double span = (t[n - 1] - t[onset]) * bucketMinutes;
    if (n - onset < MIN_POINTS || span < minSpanMinutes) return Trend.NONE;
    double slope = theilSen.slope(t, env, onset, n) / bucketMinutes;
    double rise = env[n - 1] - env[onset];
    if (slope <= 0) return new Trend(false, slope, (long) t[onset], rise, span);

    double midT = (t[onset] + t[n - 1]) / 2;
    int mid = onset;
    while (mid < n - 1 && t[mid] < midT) mid++;
    double firstHalf = env[mid] - env[onset];
    double secondHalf = env[n - 1] - env[mid];
    double expectFirst = slope * (t[mid] - t[onset]) * bucketMinutes;
    double expectSecond = slope * (t[n - 1] - t[mid]) * bucketMinutes;
    boolean sustained =
        firstHalf >= HALF_SHARE * expectFirst
            && secondHalf >= HALF_SHARE * expectSecond
            && secondHalf > 0
            && rise >= NOISE_MULTIPLE * tol
            && slope * span * LINEAR_SHARE >= rise;
    return new Trend(sustained, slope, (long) t[onset], rise, span);
  }
}
