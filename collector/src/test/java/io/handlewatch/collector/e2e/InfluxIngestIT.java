package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.handlewatch.agent.spool.MemoryReportQueue;
import io.handlewatch.agent.transport.CollectorLink;
import io.handlewatch.agent.transport.SysctlCadence;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.store.ReportPoints;
import io.handlewatch.collector.store.StoredPoint;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.IngestClient;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Agent transport → collector (gRPC on loopback) → a real influxd: InfluxQL returns exactly the
 * points the reports carried, no more, no fewer.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class InfluxIngestIT {
  static final InfluxdHarness influxd;

  static {
    try {
      influxd = InfluxdHarness.start();
    } catch (Exception e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  static final DropwizardAppExtension<CollectorConfiguration> APP =
      new DropwizardAppExtension<>(
          CollectorApplication.class,
          ResourceHelpers.resourceFilePath("test-influxdb.yml"),
          ConfigOverride.config("store.url", influxd::url));

  @AfterAll
  static void stopInflux() throws Exception {
    influxd.close();
  }

  private static final ObjectMapper json = new ObjectMapper();

  @Test
  void influxHoldsExactlyThePointsSent() throws Exception {
    CollectorApplication app = APP.getApplication();
    Instant t0 = Instant.now().minus(10, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MILLIS);
    Set<String> expected = new HashSet<>();
    ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor();
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", app.ingest().port()).usePlaintext().build();
    try {
      for (String host : List.of("e2e-a", "e2e-b")) {
        var queue = new MemoryReportQueue(1000, 64 << 20);
        Clock fixed = Clock.fixed(t0, ZoneOffset.UTC);
        var link =
            new CollectorLink(
                "collector",
                channel,
                queue,
                new SysctlCadence(fixed, Duration.ofHours(1)),
                CollectorLink.defaultBackoff(),
                exec,
                Duration.ofSeconds(30));
        // The same cadence the link applies decides which reports carry sysctls.
        SysctlCadence mirror = new SysctlCadence(fixed, Duration.ofHours(1));
        link.start();
        for (long seq = 1; seq <= 30; seq++) {
          HostReport r = TestReports.report(host, seq, t0.plusSeconds(10 * seq));
          for (StoredPoint p : ReportPoints.of(mirror.forSending(r))) expected.addAll(rows(p));
          queue.append(r);
          link.wake();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (queue.size() > 0) {
          assertThat(System.nanoTime()).as("all acked").isLessThan(deadline);
          Thread.sleep(20); // polling the queue with a deadline
        }
        link.close();
      }
    } finally {
      channel.shutdownNow();
      exec.shutdownNow();
    }

    List<String> rows = storedRows("^e2e-[ab]$");
    Set<String> stored = new HashSet<>(rows);
    assertThat(rows).as("no row twice").hasSameSizeAs(stored);
    assertThat(stored).hasSameSizeAs(expected);
    assertThat(stored).containsExactlyInAnyOrderElementsOf(expected);
  }

  /** Every stored field value of the matching hosts as one line each, duplicates kept. */
  private static List<String> storedRows(String hostRegex) throws Exception {
    List<String> stored = new ArrayList<>();
    for (String m :
        List.of(
            "tcp",
            "sockstat",
            "fd",
            "process",
            "close_wait_peer",
            "port_pressure",
            "sysctl",
            "agent")) {
      JsonNode body =
          json.readTree(
              influxd.query(
                  "e2e",
                  "SELECT * FROM \"" + m + "\" WHERE host =~ /" + hostRegex + "/ GROUP BY *"));
      for (JsonNode series : body.at("/results/0/series")) {
        Map<String, String> tags = new TreeMap<>();
        series
            .path("tags")
            .fields()
            .forEachRemaining(e -> tags.put(e.getKey(), e.getValue().asText()));
        List<String> columns =
            json.convertValue(
                series.get("columns"),
                json.getTypeFactory().constructCollectionType(List.class, String.class));
        for (JsonNode row : series.get("values")) {
          long time = row.get(0).asLong();
          for (int c = 1; c < columns.size(); c++) {
            if (row.get(c).isNull()) continue;
            stored.add(
                row(
                    m,
                    tags,
                    columns.get(c),
                    row.get(c).isTextual() ? row.get(c).asText() : normal(row.get(c).asDouble()),
                    time));
          }
        }
      }
    }
    return stored;
  }

  /**
   * An agent replays what was not acknowledged, so the same report can arrive again and again: it
   * lands on the same series and timestamps, and InfluxDB holds it once.
   */
  @Test
  void aReportReplayedThreeTimesIsStoredOnce() throws Exception {
    int port = APP.<CollectorApplication>getApplication().ingest().port();
    Instant t0 = Instant.now().minus(5, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MILLIS);
    List<HostReport> reports = new ArrayList<>();
    for (long seq = 1; seq <= 20; seq++) {
      reports.add(TestReports.report("e2e-replay", seq, t0.plusSeconds(10 * seq)));
    }
    IngestClient.stream(port, reports);
    List<String> once = storedRows("^e2e-replay$");
    assertThat(once).as("rows after the first delivery").isNotEmpty();
    IngestClient.stream(port, reports);
    IngestClient.stream(port, reports);
    List<String> thrice = storedRows("^e2e-replay$");
    assertThat(thrice).as("rows after three deliveries").hasSameSizeAs(once);
    assertThat(thrice).containsExactlyInAnyOrderElementsOf(once);
  }

  private static Set<String> rows(StoredPoint p) {
    Set<String> out = new HashSet<>();
    for (var f : p.fields().entrySet()) {
      Object v = f.getValue();
      out.add(
          row(
              p.measurement(),
              p.tags(),
              f.getKey(),
              v instanceof String s ? s : normal(((Number) v).doubleValue()),
              p.time().toEpochMilli()));
    }
    return out;
  }

  private static String normal(double v) {
    return Double.toString(v);
  }

  private static String row(
      String m, Map<String, String> tags, String field, String value, long time) {
    return m + new TreeMap<>(tags) + " " + field + "=" + value + " @" + time;
  }
}
