package io.handlewatch.collector.notify;

import static org.assertj.core.api.Assertions.assertThat;

import io.handlewatch.collector.detect.Alert;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The webhook event built from an alert, where the alert lacks what PagerDuty requires. */
class WebhookNotifierTest {
  private final WebhookNotifier webhook =
      new WebhookNotifier("w", "http://127.0.0.1:9/", null, Duration.ofSeconds(1), Map.of());

  @Test
  void pagerDutySeveritiesPassAndOthersBecomeError() {
    assertThat(WebhookNotifier.severity("critical")).isEqualTo("critical");
    assertThat(WebhookNotifier.severity("warning")).isEqualTo("warning");
    assertThat(WebhookNotifier.severity("info")).isEqualTo("info");
    assertThat(WebhookNotifier.severity("page")).isEqualTo("error");
    assertThat(WebhookNotifier.severity(null)).isEqualTo("error");
  }

  @Test
  void aBareAlertStillMakesAValidEvent() {
    Alert f = TestAlerts.firing("db-17", 1);
    Alert bare =
        new Alert(
            Alert.Status.FIRING,
            "k",
            Map.of("alertname", "FdExhaustion", "host", "db-17"),
            Map.of("summary", "x".repeat(5000)),
            f.startsAt(),
            null,
            f.at());
    WebhookNotifier.Event e = webhook.event(bare);
    assertThat(e.routingKey()).isNull();
    assertThat(e.links()).isNull();
    assertThat(e.payload().summary()).hasSize(WebhookNotifier.MAX_SUMMARY).endsWith("...");
    assertThat(e.payload().severity()).isEqualTo("error");
    assertThat(e.payload().component()).isNull();
    assertThat(e.payload().customDetails()).doesNotContainKeys("evidence", "description");

    Alert nothing =
        new Alert(Alert.Status.FIRING, "k", Map.of(), Map.of(), f.startsAt(), null, f.at());
    assertThat(webhook.event(nothing).payload().summary()).isEqualTo("handlewatch on unknown host");
    assertThat(webhook.event(nothing).payload().source()).isEqualTo("handlewatch");
  }
}
