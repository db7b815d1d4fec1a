package io.handlewatch.collector.store;

import java.util.Locale;

/**
 * How the values of one step are combined into one point, with InfluxQL's meaning: {@code mean},
 * {@code max}, {@code min}, and {@code last} (the value of the newest point in the step).
 */
public enum Aggregation {
  MEAN,
  MAX,
  MIN,
  LAST;

  /** The InfluxQL function name, and the name the API takes in {@code agg=}. */
  public String influxql() {
    return name().toLowerCase(Locale.ROOT);
  }
}
