package io.handlewatch.collector.store.influx;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonTypeName;
import io.dropwizard.util.Duration;
import io.dropwizard.validation.MinDuration;
import io.dropwizard.validation.ValidationMethod;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.StoreFactory;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.util.concurrent.TimeUnit;

/**
 * {@code store: {type: influxdb}}: samples go to InfluxDB. {@code api: v1} (the default) writes
 * line protocol to {@code /write} and reads through InfluxQL at {@code /query}, which every
 * InfluxDB serves (1.x natively, 2.x and 3.x for compatibility); {@code api: v2} writes to {@code
 * /api/v2/write} with a token, org and bucket (2.x, 3.x, Cloud), and queries through the same
 * InfluxQL endpoint with the bucket as database.
 */
@JsonTypeName("influxdb")
public class InfluxStoreFactory implements StoreFactory {
  /** Which write API to speak. */
  public enum Api {
    v1,
    v2
  }

  @NotNull
  @Pattern(regexp = "https?://.+", message = "must be an http:// or https:// URL")
  @JsonProperty
  public String url;

  @NotNull @JsonProperty public Api api = Api.v1;

  /** v1: the database (created at start when {@code createDatabase}). */
  @JsonProperty public String database = "handlewatch";

  @JsonProperty public String retentionPolicy;
  @JsonProperty public String username;
  @JsonProperty public String password;

  /** v2: API token, organization and bucket. */
  @JsonProperty public String token;

  @JsonProperty public String org;
  @JsonProperty public String bucket;

  /** v1: issue CREATE DATABASE at start (retried in the background until InfluxDB answers). */
  @JsonProperty public boolean createDatabase = true;

  /** Write requests in flight at once (one writer thread each). */
  @Min(1)
  @Max(64)
  @JsonProperty
  public int writeConcurrency = 4;

  /** Points per write request. */
  @Min(1)
  @Max(100_000)
  @JsonProperty
  public int batchSize = 5000;

  /**
   * How long a free writer waits at most for its batch to fill, only while another write is in
   * flight (with none, it sends what is queued at once). 0: it always sends at once, and batches
   * grow only while every writer is busy.
   */
  @NotNull
  @MinDuration(value = 0, unit = TimeUnit.MILLISECONDS)
  @JsonProperty
  public Duration flushInterval = Duration.milliseconds(100);

  /**
   * The fill wait also ends when a write in flight ends, or once the typical write time (the median
   * of the last 64 POSTs) has passed: a report is held no longer than a write usually takes.
   */
  @JsonProperty public boolean adaptiveFlush = true;

  /**
   * Extra POSTs allowed while every writer's POST is stalled (out more than twice the typical write
   * time) and less than one batch is queued: what arrives in an InfluxDB stall goes out in a POST
   * of its own, which ends with the stall, instead of waiting behind it. 0: none.
   */
  @Min(0)
  @Max(1000)
  @JsonProperty
  public int stallWriters = 64;

  /**
   * How long a batch is retried (429, 5xx, unreachable) before its reports fail; the agents then
   * keep them and send them again on a new stream.
   */
  @NotNull
  @MinDuration(value = 1, unit = TimeUnit.SECONDS)
  @JsonProperty
  public Duration maxRetryTime = Duration.seconds(30);

  @NotNull
  @MinDuration(value = 100, unit = TimeUnit.MILLISECONDS)
  @JsonProperty
  public Duration requestTimeout = Duration.seconds(10);

  /**
   * Points waiting to be written, across all agents. When full, new reports fail at once (their
   * agents retry later) rather than growing the heap.
   */
  @Min(1000)
  @JsonProperty
  public int maxBufferedPoints = 500_000;

  @ValidationMethod(message = "store.database is required with api: v1")
  public boolean isDatabaseSetForV1() {
    return api != Api.v1 || (database != null && !database.isBlank());
  }

  @ValidationMethod(message = "store.token, store.org and store.bucket are required with api: v2")
  public boolean isTokenOrgBucketSetForV2() {
    return api != Api.v2 || (present(token) && present(org) && present(bucket));
  }

  private static boolean present(String s) {
    return s != null && !s.isBlank();
  }

  static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }

  @Override
  public SampleStore build(MetricRegistry metrics) {
    return new InfluxStore(this, metrics);
  }
}
