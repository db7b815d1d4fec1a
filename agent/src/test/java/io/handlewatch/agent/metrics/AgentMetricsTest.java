package io.handlewatch.agent.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.agent.spool.DiskSpool;
import io.handlewatch.agent.spool.FsyncPolicy;
import io.handlewatch.agent.spool.SpoolConfig;
import io.handlewatch.agent.transport.CollectorLink;
import io.handlewatch.proto.v1.AgentHealth;
import io.handlewatch.proto.v1.NamespaceTcpTables;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TCP hash table gauges, scraped over HTTP from a sample's health as an operator would. */
class AgentMetricsTest {
  @TempDir Path dir;
  private DiskSpool spool;
  private AgentMetrics metrics;

  @BeforeEach
  void open() {
    spool =
        DiskSpool.open(
            new SpoolConfig(dir, SpoolConfig.MIN_BYTES, 4096, FsyncPolicy.NEVER, 10, 1 << 20));
    // Never started: the link's counters are read at scrape time only.
    CollectorLink link =
        new CollectorLink("127.0.0.1:1", null, null, null, null, null, Duration.ofSeconds(1));
    metrics = new AgentMetrics(spool, link, () -> 0, () -> 0);
  }

  @AfterEach
  void close() throws Exception {
    metrics.close();
    spool.close();
  }

  @Test
  void theSharedTablesAreServedPerTableWithTheHostsSizeAndTheSysctl() throws Exception {
    metrics.sampled(
        AgentHealth.newBuilder()
            .setNetnsTcpTables(
                NamespaceTcpTables.newBuilder()
                    .setShared(16)
                    .setOwn(2)
                    .setUnknown(1)
                    .setHostBuckets(262_144)
                    .setChildEhashEntries(4096))
            .build());
    String body = scrape();
    assertThat(body)
        .contains("handlewatch_agent_netns_tcp_tables{table=\"shared\"} 16.0")
        .contains("handlewatch_agent_netns_tcp_tables{table=\"own\"} 2.0")
        .contains("handlewatch_agent_netns_tcp_tables{table=\"unknown\"} 1.0")
        .contains("handlewatch_agent_host_tcp_hash_buckets 262144.0")
        .contains("handlewatch_agent_tcp_child_ehash_entries 4096.0");
  }

  @Test
  void valuesNotReadAreAbsentRatherThanZero() throws Exception {
    metrics.sampled(
        AgentHealth.newBuilder()
            .setNetnsTcpTables(NamespaceTcpTables.newBuilder().setUnknown(3))
            .build());
    String body = scrape();
    assertThat(body).contains("handlewatch_agent_netns_tcp_tables{table=\"unknown\"} 3.0");
    assertThat(body)
        .doesNotContain("handlewatch_agent_host_tcp_hash_buckets ")
        .doesNotContain("handlewatch_agent_tcp_child_ehash_entries ");
  }

  /**
   * A Prometheus with native histograms on asks for the protobuf format first. The jar must keep
   * the client's protobuf writer for it: without it the client (1.4) answers 500, not the text
   * format (agent/pom.xml).
   */
  @Test
  void aScraperAskingForProtobufGetsIt() throws Exception {
    metrics.sampled(
        AgentHealth.newBuilder()
            .setNetnsTcpTables(NamespaceTcpTables.newBuilder().setShared(2))
            .build());
    int port = metrics.serve(new InetSocketAddress("127.0.0.1", 0));
    try (HttpClient c = HttpClient.newHttpClient()) {
      HttpResponse<String> r =
          c.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                  .header(
                      "Accept",
                      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                          + "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("Content-Type"))
          .hasValueSatisfying(t -> assertThat(t).startsWith("application/vnd.google.protobuf"));
      assertThat(r.body()).contains("handlewatch_agent_netns_tcp_tables");
    }
  }

  private String scrape() throws Exception {
    int port = metrics.serve(new InetSocketAddress("127.0.0.1", 0));
    try (HttpClient c = HttpClient.newHttpClient()) {
      HttpResponse<String> r =
          c.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      return r.body();
    }
  }
}
