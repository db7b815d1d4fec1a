package io.handlewatch.collector.store;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Summarises raw points into steps exactly as InfluxQL's {@code GROUP BY time(step), * fill(none)}
 * does, for stores that answer from raw points: buckets start at multiples of the step since the
 * epoch; one point per (series, bucket), stamped with the bucket's start.
 */
public final class SeriesBuckets {
  private SeriesBuckets() {}

  /** {@code points} must be the query's raw points (any order); text values are skipped. */
  public static List<SeriesPoint> aggregate(List<SeriesPoint> points, AggregateQuery q) {
    long step = q.step().toMillis();
    // Series (by tags) → bucket start → accumulator; a TreeMap keeps buckets in time order.
    Map<Map<String, String>, TreeMap<Long, Accumulator>> bySeries = new LinkedHashMap<>();
    for (SeriesPoint p : points) {
      if (p.text() != null || Double.isNaN(p.value())) continue;
      long t = p.time().toEpochMilli();
      long bucket = Math.floorDiv(t, step) * step;
      bySeries
          .computeIfAbsent(p.tags(), k -> new TreeMap<>())
          .computeIfAbsent(bucket, b -> new Accumulator())
          .add(t, p.value());
    }
    List<SeriesPoint> out = new ArrayList<>();
    for (var series : bySeries.entrySet()) {
      for (var b : series.getValue().entrySet()) {
        out.add(
            SeriesPoint.numeric(
                Instant.ofEpochMilli(b.getKey()),
                series.getKey(),
                b.getValue().result(q.aggregation())));
      }
    }
    out.sort(Comparator.comparing(SeriesPoint::time));
    return out;
  }

  private static final class Accumulator {
    private double sum;
    private long count;
    private double max = Double.NEGATIVE_INFINITY;
    private double min = Double.POSITIVE_INFINITY;
    private long lastTime = Long.MIN_VALUE;
    private double last;

    void add(long time, double v) {
      sum += v;
      count++;
      max = Math.max(max, v);
      min = Math.min(min, v);
      if (time >= lastTime) {
        lastTime = time;
        last = v;
      }
    }

    double result(Aggregation a) {
      return switch (a) {
        case MEAN -> sum / count;
        case MAX -> max;
        case MIN -> min;
        case LAST -> last;
      };
    }
  }
}
