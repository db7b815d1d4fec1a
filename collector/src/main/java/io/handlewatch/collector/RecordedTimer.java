package io.handlewatch.collector;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A Dropwizard timer that also counts every value it is given in an HdrHistogram (microseconds,
 * buckets within 1 %), since the collector started.
 *
 * <p>The timer's own percentiles (in /metrics and /prometheus, unchanged) come from a decaying
 * sample of 1,028 values that favours the last minutes but keeps some of the start: a p99 rests on
 * about ten values, and a start-up burst still weighs in long after. The counts here are every
 * value, never decayed, so two readings of {@link LatencyHistograms} taken a window apart give that
 * window's exact distribution (their difference), whatever happened before it.
 */
public final class RecordedTimer extends Timer {
  private static final int SIGNIFICANT_DIGITS = 2;

  private final Recorder recorder = new Recorder(SIGNIFICANT_DIGITS);
  private final Histogram total = new Histogram(SIGNIFICANT_DIGITS);

  /** The timer {@code name} of {@code registry}, made a recorded one if it is new. */
  public static Timer of(MetricRegistry registry, String name) {
    return registry.timer(name, RecordedTimer::new);
  }

  @Override
  public void update(long duration, TimeUnit unit) {
    super.update(duration, unit);
    record(unit.toNanos(duration));
  }

  @Override
  public void update(Duration duration) {
    super.update(duration);
    record(duration.toNanos());
  }

  private void record(long nanos) {
    // Dropwizard ignores negative durations; so does the count.
    if (nanos >= 0) recorder.recordValue(nanos / 1000);
  }

  /** Every value recorded since the start, in microseconds: a copy the caller may keep. */
  public synchronized Histogram sinceStart() {
    total.add(recorder.getIntervalHistogram());
    return total.copy();
  }
}
