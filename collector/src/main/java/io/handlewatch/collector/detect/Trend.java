package io.handlewatch.collector.detect;

/**
 * What {@link EnvelopeTrend} made of a series: whether it is growing in a sustained way, how fast,
 * and since which bucket.
 *
 * @param growing sustained growth: spread over the span, well above the noise
 * @param slopePerMin the Theil–Sen slope of the lower envelope, units per minute
 * @param onsetBucket the bucket the growth started in (the start of the fit)
 * @param rise how much the lower envelope rose since the onset
 * @param spanMinutes how long the fit covers
 * @param baseline the level the growth started from (the envelope at the onset): back there, what
 *     grew has been released
 */
record Trend(
    boolean growing,
    double slopePerMin,
    long onsetBucket,
    double rise,
    double spanMinutes,
    double baseline) {
  static final Trend NONE = new Trend(false, 0, Long.MIN_VALUE, 0, 0, Double.NaN);
}
