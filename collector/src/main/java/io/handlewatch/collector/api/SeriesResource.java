package io.handlewatch.collector.api;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.handlewatch.collector.store.AggregateQuery;
import io.handlewatch.collector.store.Aggregation;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.SeriesPoint;
import io.handlewatch.collector.store.SeriesQuery;
import io.handlewatch.collector.store.StoreException;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code /api/v1/hosts/{host}/series}: the history of one stored metric of one host, one point per
 * step (the store's {@code GROUP BY time(step)}), per series (e.g. one per process for {@code
 * process.fds} unless {@code pid=} narrows it).
 */
@Path("/v1/hosts/{host}/series")
@Produces(MediaType.APPLICATION_JSON)
public final class SeriesResource {
  /** Steps chosen when none is asked for: the smallest giving at most {@link #TARGET_POINTS}. */
  private static final List<Duration> NICE_STEPS =
      Arrays.stream(
              new String[] {
                "1s", "2s", "5s", "10s", "15s", "30s", "1m", "2m", "5m", "10m", "15m", "30m", "1h",
                "2h", "3h", "6h", "12h", "1d", "7d"
              })
          .map(s -> TimeParams.duration("step", s))
          .toList();

  static final int TARGET_POINTS = 300;

  private final SampleStore store;
  private final Clock clock;
  private final int maxPointsPerSeries;
  private final int maxSeries;

  public SeriesResource(SampleStore store, Clock clock, int maxPointsPerSeries, int maxSeries) {
    this.store = store;
    this.clock = clock;
    this.maxPointsPerSeries = maxPointsPerSeries;
    this.maxSeries = maxSeries;
  }

  /**
   * The answer.
   *
   * @param host the host
   * @param metric {@code measurement.field}
   * @param aggregation how each step's values were combined
   * @param from start of the range (RFC 3339)
   * @param to end of the range (RFC 3339)
   * @param step the step, e.g. {@code 1m}
   * @param stepSeconds the step in seconds
   * @param filter the tag filters applied
   * @param points points over all series
   * @param series one per tag set, in tag order, each point {@code [epoch_ms, value]} at its step's
   *     start
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  public record Series(
      String host,
      String metric,
      String aggregation,
      String from,
      String to,
      String step,
      double stepSeconds,
      Map<String, String> filter,
      int points,
      List<Line> series) {}

  /** One series: its tags (host left out) and its points, oldest first. */
  public record Line(Map<String, String> tags, List<List<Number>> points) {}

  @GET
  public Series series(
      @PathParam("host") String host,
      @QueryParam("metric") String metricName,
      @QueryParam("from") String fromParam,
      @QueryParam("to") String toParam,
      @QueryParam("step") String stepParam,
      @QueryParam("agg") String aggParam,
      @QueryParam("pid") String pid,
      @QueryParam("comm") String comm,
      @QueryParam("remote") String remote,
      @QueryParam("name") String name,
      @QueryParam("kind") String kind,
      @QueryParam("subject") String subject,
      @QueryParam("namespace") String namespace,
      @QueryParam("local") String local) {
    if (metricName == null || metricName.isBlank()) {
      throw new ApiException(
          400, "metric", "metric is required, e.g. metric=tcp.close_wait", MetricCatalog.names());
    }
    MetricCatalog.Metric metric =
        MetricCatalog.find(metricName.strip())
            .orElseThrow(() -> ApiException.notOneOf("metric", metricName, MetricCatalog.names()));
    Map<String, String> filter = new TreeMap<>();
    String[] given = {pid, comm, remote, name, kind, subject, namespace, local};
    for (int i = 0; i < given.length; i++) {
      if (given[i] == null || given[i].isEmpty()) continue;
      String tag = MetricCatalog.allTags().get(i);
      if (!metric.tags().contains(tag)) {
        throw new ApiException(
            400,
            tag,
            metric.name()
                + " cannot be narrowed by "
                + tag
                + (metric.tags().isEmpty() ? "; it has no tags" : "; it takes " + metric.tags()),
            metric.tags());
      }
      // Stored tag values went through TagValues.safe; the filter names the original.
      filter.put(tag, io.handlewatch.collector.store.TagValues.safe(given[i]));
    }

    Instant now = clock.instant();
    Instant from = TimeParams.instant("from", fromParam == null ? "-1h" : fromParam, now);
    Instant to = TimeParams.instant("to", toParam == null ? "now" : toParam, now);
    if (!from.isBefore(to)) {
      throw ApiException.badParameter("from", "from " + from + " is not before to " + to);
    }
    Duration range = Duration.between(from, to);
    Duration step = stepParam == null ? niceStep(range) : TimeParams.duration("step", stepParam);
    if (step.compareTo(Duration.ofSeconds(1)) < 0) {
      throw ApiException.badParameter("step", "step " + stepParam + " is under 1s");
    }
    long buckets = (range.toMillis() + step.toMillis() - 1) / step.toMillis();
    if (buckets > maxPointsPerSeries) {
      throw ApiException.badParameter(
          "step",
          "step "
              + TimeParams.format(step)
              + " over "
              + TimeParams.format(range)
              + " gives "
              + buckets
              + " points per series, more than "
              + maxPointsPerSeries
              + ": take a step of at least "
              + TimeParams.format(
                  Duration.ofSeconds(
                      (range.toSeconds() + maxPointsPerSeries - 1) / maxPointsPerSeries)));
    }
    Aggregation agg = aggregation(aggParam);

    List<SeriesPoint> points;
    try {
      points =
          store.aggregate(
              new AggregateQuery(
                  new SeriesQuery(host, metric.measurement(), metric.field(), filter, from, to),
                  step,
                  agg));
    } catch (StoreException e) {
      throw new ApiException(
          e.kind() == StoreException.Kind.INVALID ? 500 : 503,
          null,
          "the store could not answer: " + e.getMessage(),
          List.of());
    }
    if (points.isEmpty() && store.latest(host).isEmpty()) throw ApiException.unknownHost(host);

    Map<Map<String, String>, List<List<Number>>> bySeries = new LinkedHashMap<>();
    for (SeriesPoint p : points) {
      Map<String, String> tags = new TreeMap<>(p.tags());
      tags.remove("host");
      bySeries
          .computeIfAbsent(tags, t -> new ArrayList<>())
          .add(List.of(p.time().toEpochMilli(), p.value()));
    }
    if (bySeries.size() > maxSeries) {
      throw new ApiException(
          400,
          metric.tags().isEmpty() ? null : metric.tags().getFirst(),
          metric.name()
              + " has "
              + bySeries.size()
              + " series on "
              + host
              + " in this range, more than "
              + maxSeries
              + ": narrow it with "
              + String.join("= or ", metric.tags())
              + "=",
          metric.tags());
    }
    List<Line> lines = new ArrayList<>();
    bySeries.forEach((tags, pts) -> lines.add(new Line(tags, pts)));
    // Series in the order of their tags (pid=4242 before pid=77), whatever the store's order.
    lines.sort(Comparator.comparing(l -> l.tags().toString()));
    return new Series(
        host,
        metric.name(),
        agg.influxql(),
        from.toString(),
        to.toString(),
        TimeParams.format(step),
        step.toMillis() / 1000.0,
        filter,
        points.size(),
        lines);
  }

  static Duration niceStep(Duration range) {
    for (Duration d : NICE_STEPS) {
      if (range.toMillis() / d.toMillis() <= TARGET_POINTS) return d;
    }
    return Duration.ofSeconds((range.toSeconds() + TARGET_POINTS - 1) / TARGET_POINTS);
  }

  /** {@code agg=}: mean, max, min or last; max when absent, so a peak is never averaged away. */
  static Aggregation aggregation(String agg) {
    if (agg == null || agg.isBlank()) return Aggregation.MAX;
    for (Aggregation a : Aggregation.values()) {
      if (a.influxql().equals(agg.strip().toLowerCase(Locale.ROOT))) return a;
    }
    throw ApiException.notOneOf(
        "agg", agg, Arrays.stream(Aggregation.values()).map(Aggregation::influxql).toList());
  }
}
