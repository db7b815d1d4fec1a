package io.handlewatch.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.IngestGrpc;
import io.handlewatch.proto.v1.ReportAck;
import jakarta.ws.rs.core.Response;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The whole collector on its memory store: reports over real gRPC on loopback, read via REST. */
@ExtendWith(DropwizardExtensionsSupport.class)
class CollectorAppTest {
  static final DropwizardAppExtension<CollectorConfiguration> APP =
      new DropwizardAppExtension<>(
          CollectorApplication.class, ResourceHelpers.resourceFilePath("test-memory.yml"));

  private String api(String path) {
    return "http://127.0.0.1:" + APP.getLocalPort() + path;
  }

  /** Sends reports on one stream and waits for the ack of the last one. */
  private static void stream(HostReport... reports) throws Exception {
    CollectorApplication app = APP.getApplication();
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", app.ingest().port()).usePlaintext().build();
    try {
      var acks = new LinkedBlockingQueue<ReportAck>();
      StreamObserver<HostReport> out =
          IngestGrpc.newStub(ch)
              .report(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ReportAck a) {
                      acks.add(a);
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                  });
      for (HostReport r : reports) out.onNext(r);
      long want = reports[reports.length - 1].getSeq();
      long got = 0;
      while (got < want) {
        ReportAck a = acks.poll(10, TimeUnit.SECONDS);
        assertThat(a).as("ack of seq %d", want).isNotNull();
        got = a.getAckedSeq();
      }
      out.onCompleted();
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void reportedHostsAppearInTheApiWithTheirLatestCounts() throws Exception {
    Instant t = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    stream(TestReports.report("app-1", 1, t.minusSeconds(10)), TestReports.report("app-1", 2, t));
    stream(TestReports.report("app-2", 9, t));

    JsonNode hosts = APP.client().target(api("/api/v1/hosts")).request().get(JsonNode.class);
    JsonNode app1 = null;
    for (JsonNode h : hosts.get("hosts")) if (h.get("host").asText().equals("app-1")) app1 = h;
    assertThat(app1).as("app-1 in %s", hosts).isNotNull();
    assertThat(app1.get("seq").asLong()).isEqualTo(2);
    assertThat(app1.get("last_seen").asText()).isEqualTo(t.toString());
    assertThat(app1.at("/tcp/close_wait").asLong()).isEqualTo(2);
    assertThat(app1.at("/tcp/established").asLong()).isEqualTo(TestReports.established(2));
    assertThat(app1.at("/top_offender/comm").asText()).isEqualTo("java");

    JsonNode one = APP.client().target(api("/api/v1/hosts/app-2")).request().get(JsonNode.class);
    assertThat(one.get("seq").asLong()).isEqualTo(9);
    assertThat(one.at("/sample/host/hostname").asText()).isEqualTo("app-2");
    assertThat(one.at("/sample/processes/0/comm").asText()).isEqualTo("java");
    assertThat(one.at("/sample/sysctls/0/name").asText()).isEqualTo("net.core.somaxconn");
  }

  @Test
  void anUnknownHostIsA404WithAMessage() {
    Response r = APP.client().target(api("/api/v1/hosts/nope")).request().get();
    assertThat(r.getStatus()).isEqualTo(404);
    JsonNode body = r.readEntity(JsonNode.class);
    assertThat(body.get("message").asText()).contains("nope");
  }

  @Test
  void healthChecksCoverIngestAndStore() {
    String admin = "http://127.0.0.1:" + APP.getAdminPort();
    JsonNode health = APP.client().target(admin + "/healthcheck").request().get(JsonNode.class);
    assertThat(health.at("/ingest/healthy").asBoolean()).isTrue();
    assertThat(health.at("/store/healthy").asBoolean()).isTrue();
    JsonNode metrics = APP.client().target(admin + "/metrics").request().get(JsonNode.class);
    assertThat(metrics.at("/meters/ingest.reports")).isNotNull();
    assertThat(metrics.at("/gauges/ingest.agents.connected/value").isNumber()).isTrue();
  }
}
