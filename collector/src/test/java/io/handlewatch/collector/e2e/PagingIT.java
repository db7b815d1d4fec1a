package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.notify.AlertDispatcher;
import io.handlewatch.collector.testing.HttpReceiver;
import io.handlewatch.collector.testing.PagingStack;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The collector as deployed with a {@code notifiers:} section: the dispatcher it builds (what the
 * detector hands its alerts to) pages a real Alertmanager, and the admin port shows the notifier's
 * health and metrics.
 */
class PagingIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient http = HttpClient.newHttpClient();

  @Test
  void anAlertHandedToTheCollectorReachesThePagerThroughAlertmanager(@TempDir Path dir)
      throws Exception {
    try (PagingStack stack = PagingStack.memory(dir, "", "resendInterval: 5s")) {
      HttpReceiver pager = stack.receiver();
      AlertDispatcher alerts = stack.collector().alertDispatcher();
      Instant start = Instant.now().truncatedTo(ChronoUnit.MILLIS);
      Alert leak =
          new Alert(
              Alert.Status.FIRING,
              "db-17/close_wait/4121",
              Map.of("alertname", "CloseWaitGrowth", "host", "db-17", "severity", "critical"),
              Map.of("summary", "db-17: CLOSE_WAIT growing", "description", "+40/min"),
              start,
              null,
              start);
      alerts.accept(leak);
      await("page")
          .atMost(Duration.ofSeconds(30))
          .until(() -> pager.requests().stream().anyMatch(r -> r.body().contains("db-17")));
      JsonNode page = JSON.readTree(pager.requests().getFirst().body());
      assertThat(page.path("status").asText()).isEqualTo("firing");
      assertThat(page.path("alerts").get(0).path("labels").path("alertname").asText())
          .isEqualTo("CloseWaitGrowth");

      String admin = "http://127.0.0.1:" + stack.adminPort();
      JsonNode health = get(admin + "/healthcheck");
      String check =
          "notify-alertmanager[127.0.0.1:" + URI.create(stack.alertmanager().url()).getPort() + "]";
      assertThat(health.path(check).path("healthy").asBoolean()).as("%s", health).isTrue();
      JsonNode metrics = get(admin + "/metrics");
      assertThat(metrics.path("gauges").path("notify.active").path("value").asInt()).isEqualTo(1);
      assertThat(
              metrics
                  .path("meters")
                  .path(check.substring("notify-".length()).transform(n -> "notify." + n + ".sent"))
                  .path("count")
                  .asLong())
          .isGreaterThanOrEqualTo(1);
    }
  }

  private static JsonNode get(String url) throws Exception {
    var r =
        http.send(
            HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }
}
