package io.handlewatch.collector.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.testing.HttpReceiver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the Alertmanager notifier puts on the wire, read by loopback receivers standing in for the
 * members of an Alertmanager cluster (the real Alertmanager is in {@link AlertmanagerNotifierIT}).
 */
class AlertmanagerNotifierTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

  @Test
  void everyMemberOfAClusterGetsEveryAlertWithItsLeaseAndLink() throws Exception {
    try (HttpReceiver am1 = HttpReceiver.start();
        HttpReceiver am2 = HttpReceiver.start()) {
      var f = new AlertmanagerNotifierFactory();
      f.urls = List.of(am1.url(), am2.url() + "/prefix/");
      f.resendInterval = io.dropwizard.util.Duration.seconds(30);
      f.externalUrl = "https://handlewatch.example/";
      f.basicAuth = new AlertmanagerNotifierFactory.BasicAuth();
      f.basicAuth.username = "pager";
      f.basicAuth.password = "s3cret";
      List<Destination> ds = f.build(Clock.fixed(NOW, ZoneOffset.UTC));
      assertThat(ds)
          .extracting(x -> x.notifier().name())
          .containsExactly(
              "alertmanager[127.0.0.1:" + am1.port() + "]",
              "alertmanager[127.0.0.1:" + am2.port() + "/prefix]");

      var d = new AlertDispatcher(ds, new MetricRegistry(), Clock.systemUTC(), 100);
      d.start();
      try {
        Alert leak = TestAlerts.firing("db 17", 4121);
        d.accept(leak);
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> posts(am1).findAny().isPresent() && posts(am2).findAny().isPresent());
        // Each is also asked which alerts fire (a restarted collector keeps them alive).
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> get(am1).isPresent() && get(am2).isPresent());
        assertThat(get(am1).orElseThrow().path()).isEqualTo("/api/v2/alerts");
        assertThat(get(am2).orElseThrow().path()).isEqualTo("/prefix/api/v2/alerts");
        assertThat(posts(am1).findFirst().orElseThrow().path()).isEqualTo("/api/v2/alerts");
        assertThat(posts(am2).findFirst().orElseThrow().path()).isEqualTo("/prefix/api/v2/alerts");
        for (HttpReceiver am : List.of(am1, am2)) {
          HttpReceiver.Request r = posts(am).findFirst().orElseThrow();
          assertThat(get(am).orElseThrow().headers())
              .as("the same credentials for the GET")
              .containsEntry(
                  "authorization",
                  "Basic " + Base64.getEncoder().encodeToString("pager:s3cret".getBytes()));
          assertThat(r.headers())
              .containsEntry("content-type", "application/json")
              .containsEntry(
                  "authorization",
                  "Basic " + Base64.getEncoder().encodeToString("pager:s3cret".getBytes()));
          JsonNode body = JSON.readTree(r.body());
          assertThat(body.isArray()).isTrue();
          assertThat(body.size()).isEqualTo(1);
          JsonNode a = body.get(0);
          assertThat(a.path("labels").path("alertname").asText()).isEqualTo("CloseWaitGrowth");
          assertThat(a.path("labels").path("pid").asText()).isEqualTo("4121");
          assertThat(a.path("labels").size()).isEqualTo(leak.labels().size());
          assertThat(a.path("annotations").path("runbook_url").asText())
              .isEqualTo("https://runbooks.example/close-wait");
          assertThat(Instant.parse(a.path("startsAt").asText())).isEqualTo(leak.startsAt());
          // Four re-send intervals ahead, as Prometheus does.
          assertThat(Instant.parse(a.path("endsAt").asText())).isEqualTo(NOW.plusSeconds(120));
          assertThat(a.path("generatorURL").asText())
              .as("the host's view on the fleet page")
              .isEqualTo("https://handlewatch.example/#/host/db%2017");
        }
      } finally {
        d.stop();
      }
    }
  }

  @Test
  void aResolvedAlertCarriesItsEndAndAnEscalationResolvesTheOldLabels() throws Exception {
    try (HttpReceiver am = HttpReceiver.start()) {
      var n = fixedClockNotifier(am);
      Alert warning = TestAlerts.firing("db-17", 4121, "warning");
      Alert critical = TestAlerts.withLabel(warning, "severity", "critical");
      n.send(List.of(warning));
      n.send(List.of(critical));
      n.send(List.of(TestAlerts.resolved(critical)));
      n.close();

      List<HttpReceiver.Request> rs = am.requests();
      assertThat(rs).hasSize(3);
      JsonNode first = JSON.readTree(rs.get(0).body());
      assertThat(first.get(0).has("generatorURL")).isFalse();
      JsonNode escalation = JSON.readTree(rs.get(1).body());
      assertThat(escalation.size()).isEqualTo(2);
      assertThat(escalation.get(0).path("labels").path("severity").asText()).isEqualTo("warning");
      assertThat(Instant.parse(escalation.get(0).path("endsAt").asText())).isEqualTo(NOW);
      assertThat(escalation.get(1).path("labels").path("severity").asText()).isEqualTo("critical");
      assertThat(Instant.parse(escalation.get(1).path("endsAt").asText()))
          .isEqualTo(NOW.plusSeconds(240));
      JsonNode resolve = JSON.readTree(rs.get(2).body());
      assertThat(resolve.size()).isEqualTo(1);
      assertThat(Instant.parse(resolve.get(0).path("endsAt").asText()))
          .isBefore(Instant.now().plusSeconds(1))
          .isAfter(warning.startsAt());
    }
  }

  @Test
  void aReleasedIncidentsLabelsAreForgottenNotResolved() throws Exception {
    try (HttpReceiver am = HttpReceiver.start()) {
      var n = fixedClockNotifier(am);
      Alert warning = TestAlerts.firing("db-17", 4121, "warning");
      n.send(List.of(warning));
      n.released(TestAlerts.released(warning));
      // The host came back to this collector later, its incident critical by now (another
      // collector escalated it and resolved the warning itself): nothing to resolve from here.
      n.send(List.of(TestAlerts.withLabel(warning, "severity", "critical")));
      n.close();

      List<HttpReceiver.Request> rs = am.requests();
      assertThat(rs).hasSize(2);
      JsonNode second = JSON.readTree(rs.get(1).body());
      assertThat(second.size()).isEqualTo(1);
      assertThat(second.get(0).path("labels").path("severity").asText()).isEqualTo("critical");
    }
  }

  private static java.util.Optional<HttpReceiver.Request> get(HttpReceiver am) {
    return am.requests().stream().filter(r -> r.method().equals("GET")).findFirst();
  }

  private static java.util.stream.Stream<HttpReceiver.Request> posts(HttpReceiver am) {
    return am.requests().stream().filter(r -> r.method().equals("POST"));
  }

  /** Re-sends every 60 s, on a clock stopped at NOW, no external URL. */
  private static AlertmanagerNotifier fixedClockNotifier(HttpReceiver am) {
    return new AlertmanagerNotifier(
        "am",
        am.url(),
        Duration.ofSeconds(5),
        java.util.Map.of(),
        Duration.ofSeconds(60),
        null,
        Clock.fixed(NOW, ZoneOffset.UTC));
  }
}
