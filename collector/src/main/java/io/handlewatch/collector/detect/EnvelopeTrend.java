package io.handlewatch.collector.detect;

/**
 * Finds sustained growth in a {@link SeriesWindow}, robust to what fd and socket counts do when
 * nothing leaks. The scenario evaluation (ScenarioEvaluation, BENCHMARKS.md) is what chose each
 * step, each against a mechanism that paged wrongly:
 *
 * <ol>
 *   <li><b>History.</b> A series whose past is unknown (present in the first report of a window the
 *       collector just started) shows no trend until it has been watched for {@code minHistory}: a
 *       pool that releases every ten minutes looks like a leak until one release is in view. A
 *       series whose whole life is in view (a process that appeared after the window began, counted
 *       from zero) has no unknown past and is judged at once; so is one the caller vouches for (a
 *       process seen through the whole of its host's growth).
 *   <li><b>Complete buckets.</b> The bucket being filled is left out: its minimum is of fewer
 *       samples than the others', so noise alone makes it look higher (a new bucket that starts on
 *       one high sample was a rise).
 *   <li><b>Lower envelope.</b> Each bucket's minimum, then the running minimum from the newest
 *       bucket back: a spike or a burst of short-lived connections never raises it, a level that
 *       stays up does, and for a sawtooth it follows the troughs.
 *   <li><b>Onset by a segmented fit.</b> A continuous two-segment line is fitted to the envelope
 *       with its hinge at each possible bucket; the best hinge is the onset. A leak that starts on
 *       a baseline that was flat, creeping or sawtoothed is fitted from where the growth changed,
 *       not from the first rise nor over the whole window, which underestimated the slope (and
 *       overestimated the ETA) by as much as the older part's share.
 *   <li><b>Theil–Sen</b> slope of the envelope from the bucket after the onset: resistant to the
 *       odd wild bucket. The onset bucket itself still holds the level from before the growth (a
 *       leak starts somewhere inside it), so every pair it took part in measured the growth short.
 *   <li><b>Sustained.</b> The rise must be three times the noise (the median spread within a
 *       bucket); a line must fit the envelope since the onset better than a single step does (a
 *       burst or a pool that grew once is a step); the newer half of the span must carry a quarter
 *       of the rise the slope predicts for it (growth that stopped is not growth); and where the
 *       window holds history from before the onset, every sample of the newest two complete buckets
 *       must be above every sample the series took before the newer half of the span (the buckets'
 *       maxima, each capped at its minimum plus the noise so that a lone spike does not hide a
 *       leak; not their minima: a series back at a level it already held, after a release, on a
 *       sawtooth ramp or within its noise, has not grown; a flat noisy series whose floor wanders
 *       up for one bucket, or a host whose short-lived workers' sockets add up for a while, was a
 *       rise when only the minima counted).
 * </ol>
 *
 * One instance per detector thread: it reuses its scratch arrays.
 */
final class EnvelopeTrend {
  private static final double NOISE_MULTIPLE = 3;
  private static final double HALF_SHARE = 0.25;
  private static final int MIN_POINTS = 4;

  /** Releases in the window that make a series periodic: one could be a single release. */
  private static final int MIN_RELEASES = 2;

  /**
   * Growth must hold the level above everything the series reached before for this many complete
   * buckets: one bucket of high samples is noise.
   */
  private static final int ABOVE_POINTS = 2;

  /** Growth whose newer half is this much faster than the whole has changed regime. */
  private static final double ACCELERATION = 2;

  /** The slope must explain a third of the rise: a step's rise is all in one jump, not a slope. */
  private static final double LINEAR_SHARE = 3;

  private final double bucketMinutes;
  private final long minHistoryBuckets;
  private final TheilSenTrend theilSen = new TheilSenTrend();
  private final double[] t;
  private final double[] lo;
  private final double[] hi;
  private final double[] env;
  private final double[] scratch;

  /**
   * @param minHistoryMinutes how long a series of unknown past must have been watched before it can
   *     show growth: until a pool has released at least once in view, its first ramp looks like a
   *     leak
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
   * {@link #analyze(SeriesWindow, long, long, double, double, boolean)} of a series of unknown
   * past.
   */
  Trend analyze(SeriesWindow s, long first, long now, double minSpanMinutes, double tolerance) {
    return analyze(s, first, now, minSpanMinutes, tolerance, false);
  }

  /**
   * The trend of {@code s} over the complete buckets of {@code first..now}.
   *
   * @param minSpanMinutes growth must have held at least this long
   * @param tolerance jitter below which a change is no change (in the series' units)
   * @param pastKnown the series' whole relevant past is in view (no {@code minHistory} wait)
   */
  Trend analyze(
      SeriesWindow s,
      long first,
      long now,
      double minSpanMinutes,
      double tolerance,
      boolean pastKnown) {
    if (!pastKnown && now - s.oldestBucket() < minHistoryBuckets) return Trend.NONE;
    int n = s.copy(first, now - 1, t, lo, hi);
    if (n < MIN_POINTS) return Trend.NONE;
    double floor = lo[0];
    for (int i = 1; i < n; i++) floor = Math.min(floor, lo[i]);
    if (lo[n - 1] - floor <= tolerance) return Trend.NONE; // the common case: flat

    for (int i = 0; i < n; i++) scratch[i] = hi[i] - lo[i];
    double tol = Math.max(tolerance, TheilSenTrend.select(scratch, n, n / 2));
    if (lo[n - 1] - floor <= tol) return Trend.NONE;

    env[n - 1] = lo[n - 1];
    for (int i = n - 2; i >= 0; i--) env[i] = Math.min(lo[i], env[i + 1]);

    int onset = hinge(n, MIN_POINTS, tol);
    Trend trend = from(s, now, onset, n, tol, minSpanMinutes);
    return trend.growing() ? acrossReleases(trend, n, tol, minSpanMinutes) : trend;
  }

  /**
   * Growth on a series that releases periodically (a GC or a pool dropping what it gathered: {@link
   * #MIN_RELEASES} or more falls of the bucket floor from a peak well above the noise), measured at
   * the pace it climbs in the long run, trough to trough, rather than at the pace of one tooth. The
   * floors with every release added back ({@code c}) climb steadily at what is gathered; the
   * releases take back, at the rate their sizes over the time between them say, what the periodic
   * part gathers; what stays is {@code c}'s slope since its own onset less that rate. A leak that
   * starts on such a baseline speeds up the climb of every tooth, not the releases. On the lower
   * envelope alone a release cuts back everything before it (the fit since the previous trough is
   * mostly the creep before the leak), and within one tooth the periodic climb adds to the leak's:
   * the ETA was off by up to 4x either way. A series with fewer releases is judged as before.
   */
  private Trend acrossReleases(Trend trend, int n, double tol, double minSpanMinutes) {
    int releases = 0;
    int firstRelease = -1;
    int lastRelease = -1;
    for (int i = 1; i < n; i++) {
      if (released(i, tol) > 0) {
        releases++;
        if (firstRelease < 0) firstRelease = i;
        lastRelease = i;
      }
    }
    if (releases < MIN_RELEASES) return trend;
    // c, in env (the fits below read env): the floors with every release added back. The same
    // amounts make the release rate, so what a release's measure misses (the climb between the
    // samples either side of it) cancels between the two.
    double released = 0;
    env[0] = lo[0];
    for (int i = 1; i < n; i++) {
      double r = released(i, tol);
      if (i > firstRelease) released += r;
      env[i] = env[i - 1] + lo[i] - lo[i - 1] + r;
    }
    // Its lower envelope, as for any series: a noisy bucket does not raise it.
    for (int i = n - 2; i >= 0; i--) env[i] = Math.min(env[i], env[i + 1]);
    double releasedPerMin = released / ((t[lastRelease] - t[firstRelease]) * bucketMinutes);
    int onset = hinge(n, MIN_POINTS, tol);
    double span = (t[n - 1] - t[onset]) * bucketMinutes;
    // Not yet long enough in the new regime by itself: the growth shows again when it is.
    if (n - onset < MIN_POINTS || span < minSpanMinutes) return Trend.NONE;
    double slope =
        theilSen.slope(t, env, onset > 0 ? onset + 1 : onset, n) / bucketMinutes - releasedPerMin;
    double baseline = Double.POSITIVE_INFINITY;
    for (int i = onset; i < n; i++) baseline = Math.min(baseline, lo[i]);
    return new Trend(
        slope > 0, slope, (long) t[onset], lo[n - 1] - baseline, span, trend.baseline());
  }

  /**
   * How much bucket {@code i} released (0 if it did not): its floor fell below the previous
   * bucket's by more than the noise, from a peak (the highest sample of the two buckets, capped
   * where two buckets' climb and the noise could take it: a spike is no peak) more than {@link
   * #NOISE_MULTIPLE} times the noise above it.
   */
  private double released(int i, double tol) {
    if (!(lo[i] < lo[i - 1] - tol)) return 0;
    double climb = Math.max(0, climbBefore(i, tol)) * (t[i] - t[i - 1]);
    double peak = Math.min(Math.max(hi[i - 1], hi[i]), lo[i - 1] + 2 * climb + tol);
    double fall = peak - lo[i];
    return fall > NOISE_MULTIPLE * tol ? fall : 0;
  }

  /** The per-bucket climb of the nearest bucket before {@code i} that did not fall (0: none). */
  private double climbBefore(int i, double tol) {
    for (int j = i - 1; j >= 1; j--) {
      double step = lo[j] - lo[j - 1];
      if (step >= -tol && t[j] > t[j - 1]) return step / (t[j] - t[j - 1]);
    }
    return 0;
  }

  /** The trend of the envelope from {@code onset}. */
  private Trend from(
      SeriesWindow s, long now, int onset, int n, double tol, double minSpanMinutes) {
    double span = (t[n - 1] - t[onset]) * bucketMinutes;
    if (n - onset < MIN_POINTS || span < minSpanMinutes) return Trend.NONE;
    // The hinge's own bucket is the last of the level before the growth, not the first of the
    // growth: a leak starts somewhere inside it, so the slopes of the pairs it takes part in fall
    // short by as much as the growth it missed (a leak that began late in the onset bucket was
    // measured a fifth too slow from a few minutes of buckets). Fit from the bucket after it.
    double slope = theilSen.slope(t, env, onset > 0 ? onset + 1 : onset, n) / bucketMinutes;
    // Growth that sped up lately (a leak starting on a baseline that already crept between
    // releases) is not judged on the mixture, whose older, slower part would stretch the ETA: it
    // waits until the hinge finds the new regime, once that has lasted long enough by itself.
    int recentFrom = Math.max(onset, n - Math.max(MIN_POINTS, (n - onset) / 3));
    if (slope > 0 && recentFrom > onset) {
      double recent = theilSen.slope(t, env, recentFrom, n) / bucketMinutes;
      if (recent > ACCELERATION * slope) return Trend.NONE;
    }
    double rise = env[n - 1] - env[onset];
    double baseline = env[onset];
    if (slope <= 0) return new Trend(false, slope, (long) t[onset], rise, span, baseline);

    double midT = (t[onset] + t[n - 1]) / 2;
    int mid = onset;
    while (mid < n - 1 && t[mid] < midT) mid++;
    double firstHalf = env[mid] - env[onset];
    double secondHalf = env[n - 1] - env[mid];
    double expectFirst = slope * (t[mid] - t[onset]) * bucketMinutes;
    double expectSecond = slope * (t[n - 1] - t[mid]) * bucketMinutes;
    // The bucket being filled, left out of the fit, still says whether the level fell since.
    double newest = s.minSince(now);
    // Everything the series reached before the newer half of the span (every sample: the buckets'
    // maxima): growth leaves it behind, and stays above it for ABOVE_POINTS complete buckets
    // (from its second bucket if the window holds the series' first, which may hold one sample).
    double before = Double.NEGATIVE_INFINITY;
    // A bucket whose spread is wider than the noise holds a spike: only its noise band counts.
    for (int i = t[0] == s.oldestBucket() ? 1 : 0; i < mid; i++)
      before = Math.max(before, Math.min(hi[i], lo[i] + tol));
    int above = Math.max(mid + 1, n - ABOVE_POINTS);
    boolean sustained =
        rise >= NOISE_MULTIPLE * tol
            && firstHalf >= HALF_SHARE * expectFirst
            && secondHalf > 0
            && secondHalf >= HALF_SHARE * expectSecond
            && !(newest < baseline + rise / 2)
            && lineBeatsStep(onset, n)
            && slope * span * LINEAR_SHARE >= rise
            && env[Math.min(above, n - 1)] > before;
    return new Trend(sustained, slope, (long) t[onset], rise, span, baseline);
  }

  /**
   * The onset: the hinge of the continuous two-segment least-squares fit to the envelope, among the
   * buckets that leave at least {@code minPoints} after them (0: one line fits best).
   */
  private int hinge(int n, int minPoints, double tol) {
    int best = 0;
    double bestSse = lineSse(0, n);
    // A hinge must explain more than jitter: a quarter of the noise in every bucket.
    double worth = n * (tol / 4) * (tol / 4);
    for (int k = 1; k <= n - minPoints; k++) {
      double sse = hingeSse(k, n);
      if (sse < bestSse - worth) {
        bestSse = sse;
        best = k;
      }
    }
    return best;
  }

  /** Residual sum of squares of the least-squares line through env[from..to). */
  private double lineSse(int from, int to) {
    int m = to - from;
    double sx = 0, sy = 0;
    for (int i = from; i < to; i++) {
      sx += t[i];
      sy += env[i];
    }
    double mx = sx / m, my = sy / m, sxx = 0, sxy = 0;
    for (int i = from; i < to; i++) {
      sxx += (t[i] - mx) * (t[i] - mx);
      sxy += (t[i] - mx) * (env[i] - my);
    }
    double b = sxx == 0 ? 0 : sxy / sxx;
    double sse = 0;
    for (int i = from; i < to; i++) {
      double r = env[i] - my - b * (t[i] - mx);
      sse += r * r;
    }
    return sse;
  }

  /** Residual sum of squares of y = a + b·min(t − t_k, 0) + c·max(t − t_k, 0) over env[0..n). */
  private double hingeSse(int k, int n) {
    // Normal equations of the three-parameter fit, solved by Cramer's rule.
    double tk = t[k];
    double s11 = n, s12 = 0, s13 = 0, s22 = 0, s23 = 0, s33 = 0, y1 = 0, y2 = 0, y3 = 0;
    for (int i = 0; i < n; i++) {
      double u = Math.min(t[i] - tk, 0);
      double v = Math.max(t[i] - tk, 0);
      double y = env[i];
      s12 += u;
      s13 += v;
      s22 += u * u;
      s23 += u * v;
      s33 += v * v;
      y1 += y;
      y2 += u * y;
      y3 += v * y;
    }
    double det =
        s11 * (s22 * s33 - s23 * s23)
            - s12 * (s12 * s33 - s23 * s13)
            + s13 * (s12 * s23 - s22 * s13);
    if (Math.abs(det) < 1e-12) return Double.POSITIVE_INFINITY;
    double a =
        (y1 * (s22 * s33 - s23 * s23) - s12 * (y2 * s33 - s23 * y3) + s13 * (y2 * s23 - s22 * y3))
            / det;
    double b =
        (s11 * (y2 * s33 - s23 * y3) - y1 * (s12 * s33 - s23 * s13) + s13 * (s12 * y3 - y2 * s13))
            / det;
    double c =
        (s11 * (s22 * y3 - y2 * s23) - s12 * (s12 * y3 - y2 * s13) + y1 * (s12 * s23 - s22 * s13))
            / det;
    double sse = 0;
    for (int i = 0; i < n; i++) {
      double r = env[i] - a - b * Math.min(t[i] - tk, 0) - c * Math.max(t[i] - tk, 0);
      sse += r * r;
    }
    return sse;
  }

  /**
   * Whether a line fits env[from..to) better than the best single step (two levels) does: growth
   * spread over the span, rather than a jump (a burst, a pool that grew once) and a plateau.
   */
  private boolean lineBeatsStep(int from, int to) {
    double line = lineSse(from, to);
    double total = 0;
    for (int i = from; i < to; i++) total += env[i];
    double left = 0;
    double bestStep = Double.POSITIVE_INFINITY;
    for (int j = from + 1; j < to; j++) {
      left += env[j - 1];
      int nl = j - from;
      int nr = to - j;
      double ml = left / nl;
      double mr = (total - left) / nr;
      double sse = 0;
      for (int i = from; i < to; i++) {
        double r = env[i] - (i < j ? ml : mr);
        sse += r * r;
      }
      bestStep = Math.min(bestStep, sse);
    }
    return line < bestStep;
  }
}
