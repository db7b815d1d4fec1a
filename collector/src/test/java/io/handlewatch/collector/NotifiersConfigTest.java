package io.handlewatch.collector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dropwizard.configuration.ConfigurationException;
import io.handlewatch.collector.notify.AlertmanagerNotifierFactory;
import io.handlewatch.collector.notify.Destination;
import io.handlewatch.collector.notify.WebhookNotifierFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code notifiers:} section: what the examples build, and bad entries named by key. */
class NotifiersConfigTest {

  @Test
  void withoutNotifiersNobodyIsPaged(@TempDir Path dir) throws Exception {
    Path minimal = dir.resolve("minimal.yml");
    Files.writeString(minimal, "store:\n  type: memory\n");
    assertThat(ExampleConfigsTest.load(minimal).notifiers).isEmpty();
  }

  @Test
  void theAlertmanagerExampleBuildsOneNotifierPerUrl() throws Exception {
    CollectorConfiguration c = ExampleConfigsTest.load(Path.of("config/alertmanager.yml"));
    assertThat(c.notifiers).hasSize(1);
    var am = (AlertmanagerNotifierFactory) c.notifiers.getFirst();
    assertThat(am.urls).hasSize(1);
    assertThat(am.resendInterval.toSeconds()).isEqualTo(60);
    List<Destination> ds = am.build(Clock.systemUTC());
    assertThat(ds).hasSize(1);
    assertThat(ds.getFirst().policy().resendInterval()).isEqualTo(Duration.ofMinutes(1));
    ds.forEach(d -> d.notifier().close());
  }

  @Test
  void aWebhookEntryLoads(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("webhook.yml");
    Files.writeString(
        f,
        """
        notifiers:
          - type: webhook
            name: pagerduty
            url: https://events.pagerduty.com/v2/enqueue
            routingKey: abc
            headers: {Authorization: "Token token=x"}
        """);
    var w = (WebhookNotifierFactory) ExampleConfigsTest.load(f).notifiers.getFirst();
    List<Destination> ds = w.build(Clock.systemUTC());
    assertThat(ds.getFirst().notifier().name()).isEqualTo("pagerduty");
    assertThat(ds.getFirst().policy().resends()).isFalse();
    ds.forEach(d -> d.notifier().close());
  }

  @Test
  void badEntriesAreReportedByTheirKeys(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yml");
    Files.writeString(
        bad,
        """
        notifiers:
          - type: alertmanager
            urls: []
            resendInterval: 100ms
          - type: webhook
            url: events.pagerduty.com
            headers: {Host: x}
            retryInitialDelay: 10s
            retryMaxDelay: 1s
        """);
    assertThatThrownBy(() -> ExampleConfigsTest.load(bad))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("notifiers[0].urls")
        .hasMessageContaining("notifiers[0].resendInterval")
        .hasMessageContaining("notifiers[1].url")
        .hasMessageContaining("notifiers[1].headers")
        .hasMessageContaining("notifiers[1].retryMaxDelay must be longer than retryInitialDelay");
  }

  @Test
  void anUnknownNotifierTypeIsReportedByItsKey(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yml");
    Files.writeString(bad, "notifiers:\n  - type: opsgenie\n    url: http://x\n");
    assertThatThrownBy(() -> ExampleConfigsTest.load(bad))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("notifiers")
        .hasMessageContaining("opsgenie");
  }

  @Test
  void bothAuthMethodsAtOnceAreRefused(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yml");
    Files.writeString(
        bad,
        """
        notifiers:
          - type: alertmanager
            urls: [http://127.0.0.1:9093, http://127.0.0.1:9093]
            bearerToken: t
            basicAuth: {username: u, password: p}
        """);
    assertThatThrownBy(() -> ExampleConfigsTest.load(bad))
        .isInstanceOf(ConfigurationException.class)
        .hasMessageContaining("notifiers[0].basicAuth cannot be set together with bearerToken")
        .hasMessageContaining("notifiers[0].urls must not list the same Alertmanager twice");
  }
}
