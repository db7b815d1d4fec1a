package io.handlewatch.collector.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.dropwizard.testing.junit5.ResourceExtension;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.influx.InfluxStoreFactory;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.collector.testing.ApiExtension;
import io.handlewatch.collector.testing.FixedDetection;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.collector.testing.TestReports;
import jakarta.ws.rs.client.WebTarget;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The series API over a real influxd (InfluxQL {@code GROUP BY time(step)}) answers exactly as over
 * the memory store, for the same reports, relative times, steps and aggregations.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class SeriesApiIT {
  static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
  static final MutableClock clock = new MutableClock(NOW);
  static final InfluxdHarness influxd = startInfluxd();
  static final SampleStore influx = influxStore();
  static final SampleStore memory =
      new MemoryStore(64L << 20, Duration.ofHours(6), clock, new MetricRegistry());
  static final ResourceExtension OVER_INFLUX =
      ApiExtension.over(influx, new FixedDetection(), clock);
  static final ResourceExtension OVER_MEMORY =
      ApiExtension.over(memory, new FixedDetection(), clock);
  static final ObjectMapper JSON = new ObjectMapper();

  private static InfluxdHarness startInfluxd() {
    try {
      return InfluxdHarness.start();
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static SampleStore influxStore() {
    InfluxStoreFactory f = new InfluxStoreFactory();
    f.url = influxd.url();
    f.database = "series";
    f.flushInterval = io.dropwizard.util.Duration.milliseconds(20);
    return f.build(new MetricRegistry());
  }

  @BeforeAll
  static void history() throws Exception {
    for (int i = 0; i <= 60; i++) {
      var r = TestReports.report("s", i + 1, NOW.minusSeconds(600 - 10L * i));
      influx.write(r).get(30, TimeUnit.SECONDS);
      memory.write(r).get(30, TimeUnit.SECONDS);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    influx.close();
    memory.close();
    influxd.close();
  }

  static List<List<String>> queries() {
    return List.of(
        List.of("metric", "tcp.close_wait", "from", "-5m", "step", "1m"),
        List.of("metric", "tcp.close_wait", "from", "now-5m", "step", "1m", "agg", "mean"),
        List.of("metric", "tcp.close_wait", "from", "-10m", "step", "7s", "agg", "min"),
        List.of(
            "metric", "tcp.time_wait", "from", "-10m", "to", "-2m", "step", "90s", "agg", "last"),
        List.of("metric", "fd.used_ratio", "agg", "mean"),
        List.of("metric", "process.fds", "from", "-10m", "step", "2m"),
        List.of("metric", "process.used_ratio", "pid", "4242", "from", "-6h", "step", "1m"),
        List.of("metric", "close_wait_peer.count", "remote", "10.0.0.9:8080", "step", "30s"),
        List.of("metric", "port_pressure.in_use", "from", "2026-11-24T09:55:00Z", "step", "1m"),
        List.of("metric", "sysctl.numeric", "name", "net.core.somaxconn", "step", "5m"),
        List.of("metric", "sockstat.tw", "from", "-1h", "to", "now", "step", "10m"));
  }

  private static JsonNode get(ResourceExtension api, List<String> query) throws Exception {
    WebTarget t = api.target("/v1/hosts/s/series");
    for (int i = 0; i < query.size(); i += 2) t = t.queryParam(query.get(i), query.get(i + 1));
    Response r = t.request().get();
    String body = r.readEntity(String.class);
    assertThat(r.getStatus()).as(body).isEqualTo(200);
    return JSON.readTree(body);
  }

  @ParameterizedTest
  @MethodSource("queries")
  void influxAnswersAsTheMemoryStoreDoes(List<String> query) throws Exception {
    JsonNode fromInflux = get(OVER_INFLUX, query);
    JsonNode fromMemory = get(OVER_MEMORY, query);
    assertThat(fromInflux.get("points").asInt()).as("points over %s", query).isPositive();
    assertThat(fromInflux).isEqualTo(fromMemory);
  }
}
