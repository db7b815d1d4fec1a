package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.testing.IngestClient;
import io.handlewatch.collector.testing.Promtool;
import io.handlewatch.collector.testing.TestReports;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The collector's {@code /prometheus} (admin port) scraped as Prometheus would, and checked by
 * Prometheus's own {@code promtool check metrics}: it parses, lints clean, and carries ingest,
 * store, detector and JVM metrics under conventional names.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class PrometheusScrapeIT {
  static final DropwizardAppExtension<CollectorConfiguration> APP =
      new DropwizardAppExtension<>(
          CollectorApplication.class, ResourceHelpers.resourceFilePath("test-memory.yml"));

  private static final HttpClient http = HttpClient.newHttpClient();

  static HttpResponse<String> scrape(String url, String accept) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).header("Accept", accept).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theCollectorsMetricsParseAndLintCleanInBothFormats() throws Exception {
    // What Application.run registers from the command line (the test support does not).
    var jvm = APP.getEnvironment().metrics();
    jvm.registerAll("jvm.memory", new com.codahale.metrics.jvm.MemoryUsageGaugeSet());
    jvm.registerAll("jvm.gc", new com.codahale.metrics.jvm.GarbageCollectorMetricSet());
    jvm.registerAll("jvm.threads", new com.codahale.metrics.jvm.ThreadStatesGaugeSet());
    Instant t = Instant.now();
    IngestClient.stream(
        APP.<CollectorApplication>getApplication().ingest().port(),
        List.of(
            TestReports.report("prom-1", 1, t.minusSeconds(10)),
            TestReports.report("prom-1", 2, t)));
    String url = "http://127.0.0.1:" + APP.getAdminPort() + "/prometheus";

    HttpResponse<String> text = scrape(url, "text/plain");
    assertThat(text.statusCode()).isEqualTo(200);
    assertThat(text.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target/collector-prometheus.txt"), text.body());
    Promtool.Verdict v = Promtool.checkMetrics(text.body());
    assertThat(v.exitCode()).as("promtool check metrics: %s", v.output()).isZero();
    assertThat(text.body())
        .containsPattern("(?m)^handlewatch_ingest_reports_total [0-9.eE+]+$")
        .containsPattern("(?m)^handlewatch_ingest_agents_connected [0-9.eE+]+$")
        .containsPattern("(?m)^handlewatch_ingest_connections_open [0-9.eE+]+$")
        .contains("handlewatch_ingest_store_latency_seconds{quantile=\"0.99\"}")
        .contains("handlewatch_ingest_store_latency_seconds_count")
        .contains("handlewatch_detect_queue_depth")
        .contains("handlewatch_store_memory_points_written_total")
        .contains("jvm_memory_heap_used")
        .containsPattern("(?m)^jvm_gc_g1_young_generation [0-9.eE+]+$");
    assertThat(Double.parseDouble(value(text.body(), "handlewatch_ingest_reports_total")))
        .isEqualTo(2.0);

    HttpResponse<String> om =
        scrape(url, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assertThat(om.statusCode()).isEqualTo(200);
    assertThat(om.headers().firstValue("Content-Type").orElse(""))
        .startsWith("application/openmetrics-text");
    assertThat(om.body()).endsWith("# EOF\n").contains("# TYPE handlewatch_ingest_reports counter");
  }

  @Test
  void theAgentsMetricsAddressServesItsHealth(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    int ingest = APP.<CollectorApplication>getApplication().ingest().port();
    try (var programs = new io.handlewatch.collector.testing.RealPrograms(dir)) {
      programs.agent(
          List.of(),
          "--collector",
          "127.0.0.1:" + ingest,
          "--interval",
          "500ms",
          "--host",
          "prom-agent",
          "--state-dir",
          dir.resolve("state").toString(),
          "--metrics-address",
          "127.0.0.1:0");
      var at = java.util.regex.Pattern.compile("metrics for Prometheus at (http://\\S+/metrics)");
      String[] url = new String[1];
      io.handlewatch.collector.testing.RealPrograms.await(
          "the agent's metrics line",
          java.time.Duration.ofSeconds(30),
          () -> {
            var m = at.matcher(programs.log("agent"));
            if (m.find()) url[0] = m.group(1);
            return url[0] != null;
          });
      // Two samples acknowledged: every metric has a value.
      String[] body = new String[1];
      io.handlewatch.collector.testing.RealPrograms.await(
          "two acknowledged samples in the agent's metrics",
          java.time.Duration.ofSeconds(30),
          () -> {
            try {
              body[0] = scrape(url[0], "text/plain").body();
              return Double.parseDouble(value(body[0], "handlewatch_agent_last_acked_seq")) >= 2;
            } catch (Exception | AssertionError notYet) {
              return false;
            }
          });
      Files.writeString(Path.of("target/agent-prometheus.txt"), body[0]);
      Promtool.Verdict v = Promtool.checkMetrics(body[0]);
      assertThat(v.exitCode()).as("promtool check metrics: %s", v.output()).isZero();
      assertThat(body[0])
          .containsPattern("(?m)^handlewatch_agent_source_duration_seconds\\{source=\"tcp\"\\} ")
          .containsPattern(
              "(?m)^handlewatch_agent_source_cpu_seconds_total\\{source=\"file_handles\"\\} ")
          .containsPattern("(?m)^handlewatch_agent_spool_reports [0-9.eE+]+$")
          .containsPattern("(?m)^handlewatch_agent_spool_bytes [0-9.eE+]+$")
          .containsPattern("(?m)^handlewatch_agent_dropped_reports_total 0.0$")
          .containsPattern("(?m)^handlewatch_agent_streams_opened_total 1.0$")
          .containsPattern("(?m)^handlewatch_agent_connected 1.0$");
      assertThat(Double.parseDouble(value(body[0], "handlewatch_agent_last_ack_timestamp_seconds")))
          .isCloseTo(System.currentTimeMillis() / 1e3, org.assertj.core.data.Offset.offset(30.0));
      assertThat(Double.parseDouble(value(body[0], "handlewatch_agent_resident_memory_bytes")))
          .isGreaterThan(10e6);
      HttpResponse<String> om =
          scrape(url[0], "application/openmetrics-text; version=1.0.0; charset=utf-8");
      assertThat(om.body()).endsWith("# EOF\n");
    }
  }

  /** The value of a sample without labels. */
  static String value(String scrape, String name) {
    for (String line : scrape.split("\n")) {
      if (line.startsWith(name + " ")) return line.substring(name.length() + 1).strip();
    }
    throw new AssertionError(name + " not in the scrape");
  }
}
