package io.handlewatch.collector.store.influx;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.store.AggregateQuery;
import io.handlewatch.collector.store.LatestReports;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.SeriesPoint;
import io.handlewatch.collector.store.SeriesQuery;
import io.handlewatch.collector.store.StoreException;
import io.handlewatch.collector.store.StoreHealth;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.store.WriteOutcome;
import io.handlewatch.proto.v1.HostReport;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Stores samples in InfluxDB: its write pipeline ({@link InfluxWriter}: batches, retries, the
 * classification of every answer) and its InfluxQL reads ({@link InfluxReader}) share one HTTP
 * client and one set of credentials; the latest report of each host is kept in memory, updated as
 * the writer settles each report.
 */
public final class InfluxStore implements SampleStore {
  private final InfluxStoreFactory config;
  private final HttpClient http;
  private final LatestReports latest = new LatestReports();
  private final InfluxWriter writer;
  private final InfluxReader reader;

  public InfluxStore(InfluxStoreFactory config, MetricRegistry metrics) {
    this.config = config;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofMillis(config.requestTimeout.toMilliseconds()))
            .build();
    String auth = authorization(config);
    this.writer = new InfluxWriter(config, http, auth, latest, metrics);
    this.reader = new InfluxReader(config, http, auth);
  }

  private static String authorization(InfluxStoreFactory c) {
    if (c.api == InfluxStoreFactory.Api.v2) return "Token " + c.token;
    if (InfluxStoreFactory.blankToNull(c.username) != null) {
      String up = c.username + ":" + (c.password == null ? "" : c.password);
      return "Basic " + Base64.getEncoder().encodeToString(up.getBytes(StandardCharsets.UTF_8));
    }
    return null;
  }

  @Override
  public CompletableFuture<WriteOutcome> write(HostReport report) {
    return writer.enqueue(report, ReportPoints.of(report));
  }

  @Override
  public CompletableFuture<WriteOutcome> writePoints(List<StoredPoint> points) {
    return writer.enqueue(null, points);
  }

  @Override
  public List<SeriesPoint> series(SeriesQuery q) throws StoreException {
    return reader.series(q);
  }

  /** InfluxDB summarises: {@code GROUP BY time(step), *} with {@code fill(none)}. */
  @Override
  public List<SeriesPoint> aggregate(AggregateQuery a) throws StoreException {
    return reader.aggregate(a);
  }

  @Override
  public List<StoredPoint> history(String host, Set<String> measurements, Instant from, Instant to)
      throws StoreException {
    return reader.history(host, measurements, from, to);
  }

  /** One InfluxQL query for many hosts ({@link InfluxReader#histories}). */
  @Override
  public java.util.Map<String, List<StoredPoint>> histories(
      java.util.Collection<String> hosts, Set<String> measurements, Instant from, Instant to)
      throws StoreException {
    return reader.histories(hosts, measurements, from, to);
  }

  /** Runs one InfluxQL statement and returns its result object (results[0]). */
  public JsonNode query(String influxql) throws StoreException {
    return reader.query(influxql);
  }

  @Override
  public Optional<HostReport> latest(String host) {
    return latest.get(host);
  }

  @Override
  public List<HostReport> latestPerHost() {
    return latest.all();
  }

  @Override
  public Optional<Duration> reportInterval(String host) {
    return latest.interval(host);
  }

  @Override
  public java.util.OptionalLong writeBufferPoints() {
    return java.util.OptionalLong.of(config.maxBufferedPoints);
  }

  /** Points waiting to be written, as a share of {@code store.maxBufferedPoints}. */
  @Override
  public double writeBacklog() {
    return Math.min(1.0, writer.bufferedPoints() / (double) config.maxBufferedPoints);
  }

  @Override
  public StoreHealth check() {
    String fatal = writer.configurationError();
    if (fatal != null) return StoreHealth.failing(fatal);
    HttpRequest ping =
        HttpRequest.newBuilder(URI.create(config.url.replaceAll("/+$", "") + "/ping"))
            .timeout(Duration.ofSeconds(2))
            .GET()
            .build();
    try {
      int status = http.send(ping, HttpResponse.BodyHandlers.discarding()).statusCode();
      if (status / 100 != 2)
        return StoreHealth.failing("InfluxDB at " + config.url + " answers /ping with " + status);
      return StoreHealth.ok(
          "InfluxDB at "
              + config.url
              + " reachable; "
              + writer.bufferedPoints()
              + " points waiting");
    } catch (IOException e) {
      return StoreHealth.failing("InfluxDB at " + config.url + " unreachable: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return StoreHealth.failing("interrupted");
    }
  }

  @Override
  public void close() {
    writer.close();
  }
}
