package io.handlewatch.collector.store;

import java.time.Duration;
import java.util.Objects;

/**
 * A {@link SeriesQuery} summarised in steps: one point per series and step, aligned to multiples of
 * {@code step} since the epoch (InfluxQL's {@code GROUP BY time(step)}), stamped with the step's
 * start. Steps without a value give no point (InfluxQL's {@code fill(none)}).
 */
public record AggregateQuery(SeriesQuery series, Duration step, Aggregation aggregation) {
  public AggregateQuery {
    Objects.requireNonNull(series, "series");
    Objects.requireNonNull(aggregation, "aggregation");
    if (step.toMillis() < 1) throw new IllegalArgumentException("step under 1 ms: " + step);
  }
}
