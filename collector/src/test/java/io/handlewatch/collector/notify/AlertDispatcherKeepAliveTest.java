package io.handlewatch.collector.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.testing.AlertmanagerHarness;
import io.handlewatch.collector.testing.HttpReceiver;
import io.handlewatch.collector.testing.LogLines;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * After a (re)start the dispatcher asks Alertmanager which of the product's alerts fire, and keeps
 * each alive, unchanged, while its host waits here for its history read; against a real
 * Alertmanager.
 */
class AlertDispatcherKeepAliveTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration RESEND = Duration.ofSeconds(1);

  private final List<AutoCloseable> closing = new ArrayList<>();
  private final MetricRegistry metrics = new MetricRegistry();

  @AfterEach
  void cleanUp() throws Exception {
    for (AutoCloseable c : closing.reversed()) c.close();
  }

  private AlertDispatcher dispatcher(List<Destination> destinations) {
    AlertDispatcher d =
        new AlertDispatcher(
            destinations, metrics, Clock.systemUTC(), AlertDispatcher.DEFAULT_MAX_PENDING);
    d.start();
    closing.add(d::stop);
    return d;
  }

  private static Destination alertmanager(String url) {
    return new Destination(
        new AlertmanagerNotifier(
            "am", url, Duration.ofSeconds(2), Map.of(), RESEND, null, Clock.systemUTC()),
        new DeliveryPolicy(RESEND, Duration.ofMillis(100), Duration.ofMillis(400)));
  }

  private static Map<String, Object> alert(
      String alertname, String host, String severity, Instant startsAt, Instant endsAt) {
    return Map.of(
        "labels",
        Map.of("alertname", alertname, "host", host, "severity", severity, "pid", "42"),
        "annotations",
        Map.of("summary", host + ": before the restart"),
        "startsAt",
        startsAt.toString(),
        "endsAt",
        endsAt.toString());
  }

  @Test
  void keepsWhatAlertmanagerShowsFiringAliveForAWaitingHostUntilItIsDecided() throws Exception {
    HttpReceiver pager = HttpReceiver.start();
    closing.add(pager);
    AlertmanagerHarness am = AlertmanagerHarness.prepare(pager.url() + "/").start();
    closing.add(am);
    HttpReceiver webhook = HttpReceiver.start();
    closing.add(webhook);
    // Alertmanager's API gives times to the millisecond.
    Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    Instant started = now.minusSeconds(600);
    Instant soon = now.plusSeconds(5); // as if the last send before the restart was a while ago
    Instant later = now.plusSeconds(60);
    post(
        am,
        List.of(
            alert("CloseWaitGrowing", "h1", "critical", started, soon),
            // resolved just before the restart: must stay resolved
            alert("AcceptQueueOverflowing", "h1", "critical", started, now.minusSeconds(1)),
            alert("CloseWaitGrowing", "h2", "critical", started, later),
            // another product's alert on the same host: not ours to keep
            alert("NodeDown", "h1", "critical", started, later)));
    String otherHost = updatedAt(am, "CloseWaitGrowing", "h2");
    String otherProduct = updatedAt(am, "NodeDown", "h1");

    AlertDispatcher d =
        dispatcher(
            List.of(
                alertmanager(am.url()),
                new Destination(
                    new WebhookNotifier(
                        "hook", webhook.url(), "key", Duration.ofSeconds(2), Map.of()),
                    new DeliveryPolicy(RESEND, Duration.ofMillis(100), Duration.ofMillis(400)))));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> metrics.counter("notify.am.startup.alerts").getCount() == 2);

    String before = updatedAt(am, "CloseWaitGrowing", "h1");
    d.waiting("h1");
    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> !updatedAt(am, "CloseWaitGrowing", "h1").equals(before));
    JsonNode kept = active(am, "CloseWaitGrowing", "h1");
    assertThat(Instant.parse(kept.path("startsAt").asText())).isEqualTo(started);
    assertThat(kept.at("/annotations/summary").asText()).isEqualTo("h1: before the restart");
    assertThat(metrics.getGauges().get("notify.kept").getValue()).isEqualTo(1);
    // Past the endsAt it had: still firing, kept alive by the re-sends.
    long past = Duration.between(Instant.now(), soon.plusSeconds(2)).toMillis();
    if (past > 0) Thread.sleep(past); // time for the old endsAt to pass, the point of the test
    assertThat(active(am, "CloseWaitGrowing", "h1")).isNotNull();
    assertThat(active(am, "AcceptQueueOverflowing", "h1")).as("resolved stays resolved").isNull();
    assertThat(updatedAt(am, "NodeDown", "h1")).as("not ours").isEqualTo(otherProduct);
    assertThat(updatedAt(am, "CloseWaitGrowing", "h2")).as("host not here").isEqualTo(otherHost);

    d.decided("h1");
    assertThat(metrics.getGauges().get("notify.kept").getValue()).isEqualTo(0);
    // No longer sent: Alertmanager ends it at its endsAt (here, as the detector did not take it).
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> active(am, "CloseWaitGrowing", "h1") == null);
    assertThat(webhook.requests()).as("a webhook never gets what was kept alive").isEmpty();
  }

  @Test
  void anAlertmanagerUnreachableAtStartIsLoggedOnceCountedAndChangesNothingElse() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    try (LogLines log = new LogLines(AlertDispatcher.class, "unused")) {
      AlertDispatcher d = dispatcher(List.of(alertmanager("http://127.0.0.1:" + closed)));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> metrics.counter("notify.am.startup.failed").getCount() >= 3);
      d.waiting("h1");
      d.decided("h1");
      assertThat(metrics.getGauges().get("notify.kept").getValue()).isEqualTo(0);
      assertThat(
              log.all().stream()
                  .filter(l -> l.contains("cannot ask Alertmanager which alerts fire"))
                  .count())
          .isEqualTo(1L);
    }
  }

  private static void post(AlertmanagerHarness am, List<Map<String, Object>> alerts)
      throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(am.url() + "/api/v2/alerts"))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(alerts)))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
  }

  private static JsonNode active(AlertmanagerHarness am, String alertname, String host)
      throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(am.url() + "/api/v2/alerts")).build(),
              HttpResponse.BodyHandlers.ofString());
      for (JsonNode a : JSON.readTree(r.body())) {
        if (a.at("/labels/alertname").asText().equals(alertname)
            && a.at("/labels/host").asText().equals(host)) return a;
      }
      return null;
    }
  }

  private static String updatedAt(AlertmanagerHarness am, String alertname, String host)
      throws Exception {
    JsonNode a = active(am, alertname, host);
    return a == null ? "" : a.path("updatedAt").asText();
  }
}
