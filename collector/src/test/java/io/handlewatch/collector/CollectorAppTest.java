package io.handlewatch.collector;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.detect.DetectionView;
import io.handlewatch.collector.detect.evaluation.TraceGenerator;
import io.handlewatch.collector.store.SeriesPoint;
import io.handlewatch.collector.store.SeriesQuery;
import io.handlewatch.collector.testing.IngestClient;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import jakarta.ws.rs.core.Response;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
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

  private static void stream(HostReport... reports) throws Exception {
    IngestClient.stream(
        APP.<CollectorApplication>getApplication().ingest().port(), List.of(reports));
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
  void aLeakInTheReportStreamBecomesAnAlertAndAStoredVerdict() throws Exception {
    // 25 minutes of reports, sampled until now: CLOSE_WAIT leaks 1/s from minute 18.
    Instant start = Instant.now().minusSeconds(25 * 60).truncatedTo(ChronoUnit.SECONDS);
    TraceGenerator.Curve cw = (m, r) -> 2 + 60 * Math.max(0, m - 18);
    TraceGenerator.Curve fds = (m, r) -> 1_000 + cw.at(m, r);
    var reports =
        new TraceGenerator("app-leak", start, 5)
            .add(
                new TraceGenerator.Process(
                    4121, 7, "java", 65_536, fds, cw, "10.0.0.5:5432", 0, 1e9))
            .generate(25);
    stream(reports.toArray(HostReport[]::new));

    CollectorApplication app = APP.getApplication();
    DetectionView view = app.detector().view();
    Alert alert = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (alert == null && System.nanoTime() < deadline) {
      alert = view.activeAlerts("app-leak").stream().findFirst().orElse(null);
      if (alert == null) Thread.sleep(50);
    }
    assertThat(alert).as("alert for app-leak").isNotNull();
    assertThat(alert.status()).isEqualTo(Alert.Status.FIRING);
    assertThat(alert.labels())
        .containsEntry("alertname", "CloseWaitGrowing")
        .containsEntry("pid", "4121")
        .containsEntry("remote", "10.0.0.5:5432");
    assertThat(alert.annotations().get("runbook_url"))
        .as("absolute, on the collector's own address (externalUrl unset: the HTTP connector's)")
        .isEqualTo("http://127.0.0.1:" + APP.getLocalPort() + "/runbook#close_wait");

    List<SeriesPoint> verdicts = List.of();
    while (verdicts.isEmpty() && System.nanoTime() < deadline) {
      verdicts =
          app.store()
              .series(
                  new SeriesQuery(
                      "app-leak",
                      "verdict",
                      "slope_per_min",
                      Map.of("kind", "close_wait"),
                      start,
                      Instant.now()));
      if (verdicts.isEmpty()) Thread.sleep(50);
    }
    assertThat(verdicts).isNotEmpty();
    assertThat(verdicts.getFirst().tags()).containsEntry("subject", "java[4121]");
    assertThat(verdicts.getLast().value()).isBetween(50.0, 70.0);

    // The transition is kept for the host dashboard's annotations.
    List<SeriesPoint> transitions = List.of();
    while (transitions.isEmpty() && System.nanoTime() < deadline) {
      transitions =
          app.store()
              .series(
                  new SeriesQuery(
                      "app-leak",
                      "alert",
                      "status",
                      Map.of(),
                      start,
                      Instant.now().plusSeconds(60)));
      if (transitions.isEmpty()) Thread.sleep(50);
    }
    assertThat(transitions).extracting(SeriesPoint::text).contains("firing");
    assertThat(transitions.getFirst().tags()).containsEntry("alertname", "CloseWaitGrowing");
  }

  @Test
  void anUnknownHostIsA404WithAMessage() {
    Response r = APP.client().target(api("/api/v1/hosts/nope")).request().get();
    assertThat(r.getStatus()).isEqualTo(404);
    JsonNode body = r.readEntity(JsonNode.class);
    assertThat(body.get("message").asText()).contains("nope");
  }

  @Test
  void theRunbookIsServedAsAPageAtTheAddressTheAlertsLinkTo() {
    CollectorApplication app = APP.getApplication();
    assertThat(app.externalUrl()).isEqualTo("http://127.0.0.1:" + APP.getLocalPort());
    Response runbook = APP.client().target(app.externalUrl() + "/runbook").request().get();
    assertThat(runbook.getStatus()).isEqualTo(200);
    assertThat(runbook.getMediaType().toString()).startsWith("text/html");
    assertThat(runbook.readEntity(String.class))
        .contains("<h2 id=\"close_wait\">close_wait</h2>", "<h2 id=\"process_fds\">");
  }

  @Test
  void theFleetPageOwnsTheRootAndTheApiKeepsApi() {
    Response page = APP.client().target(api("/")).request().get();
    assertThat(page.getStatus()).isEqualTo(200);
    assertThat(page.getMediaType().toString()).startsWith("text/html");
    assertThat(page.readEntity(String.class)).contains("<title>handlewatch fleet</title>");
    Response js = APP.client().target(api("/app.js")).request().get();
    assertThat(js.getStatus()).isEqualTo(200);
    assertThat(js.readEntity(String.class)).contains("api/v1/");

    Response spec = APP.client().target(api("/api/v1/openapi.json")).request().get();
    assertThat(spec.getStatus()).isEqualTo(200);
    assertThat(spec.readEntity(JsonNode.class).get("openapi").asText()).isEqualTo("3.1.0");
    Response none = APP.client().target(api("/api/v1/no-such-thing")).request().get();
    assertThat(none.getStatus()).as("Jersey answers under /api, not the page").isEqualTo(404);
    assertThat(none.readEntity(JsonNode.class).get("code").asInt()).isEqualTo(404);
    Response bad =
        APP.client()
            .target(api("/api/v1/hosts/app-1/series"))
            .queryParam("metric", "tcp.nope")
            .request()
            .get();
    assertThat(bad.getStatus()).isEqualTo(400);
    assertThat(bad.readEntity(JsonNode.class).get("parameter").asText()).isEqualTo("metric");
  }

  @Test
  void thePageAndTheApiForbidSniffingInlineCodeAndFraming() {
    for (String path : List.of("/", "/app.js", "/style.css", "/api/v1/hosts", "/api/v1/nope")) {
      Response r = APP.client().target(api(path)).request().get();
      assertThat(r.getHeaderString("X-Content-Type-Options")).as(path).isEqualTo("nosniff");
      String csp = r.getHeaderString("Content-Security-Policy");
      assertThat(csp)
          .as(path)
          .contains("frame-ancestors 'none'")
          .contains("script-src 'self'")
          .doesNotContain("unsafe-inline")
          .doesNotContain("unsafe-eval");
      r.close();
    }
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
    assertThat(metrics.at("/gauges/detect.queue.depth/value").isNumber()).isTrue();
    assertThat(metrics.at("/timers/detect.cost").isObject()).isTrue();
  }

  @Test
  void theAdminPortListsEveryRecordedLatency() throws Exception {
    stream(TestReports.report("hist-1", 1, Instant.now().truncatedTo(ChronoUnit.MILLIS)));
    String admin = "http://127.0.0.1:" + APP.getAdminPort();
    String body = APP.client().target(admin + "/latency-histograms").request().get(String.class);
    assertThat(body)
        .containsPattern("(?m)^ingest\\.latency\\.collector_added [0-9]+ [1-9][0-9]*$")
        .containsPattern("(?m)^ingest\\.store\\.latency [0-9]+ [1-9][0-9]*$");
    // A timer named twice in the query is answered once, not refused.
    String twice =
        APP.client()
            .target(admin + "/latency-histograms")
            .queryParam("timer", "ingest.store.latency", "ingest.store.latency")
            .request()
            .get(String.class);
    assertThat(twice)
        .containsPattern("(?m)^ingest\\.store\\.latency [0-9]+ [1-9][0-9]*$")
        .doesNotContain("ingest.latency.collector_added");
  }
}
