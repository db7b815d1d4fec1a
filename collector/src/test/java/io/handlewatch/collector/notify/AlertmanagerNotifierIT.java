package io.handlewatch.collector.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.testing.AlertmanagerHarness;
import io.handlewatch.collector.testing.HttpReceiver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The notifier contract against a real Prometheus Alertmanager that routes every alert group
 * (resolved ones too) to a webhook receiver on loopback: what that receiver gets is what an SRE's
 * pager would get.
 */
class AlertmanagerNotifierIT extends NotifierContract {
  private static final ObjectMapper JSON = new ObjectMapper();

  private HttpReceiver receiver;
  private AlertmanagerHarness alertmanager;

  @BeforeEach
  void startAlertmanager() throws Exception {
    receiver = HttpReceiver.start();
    alertmanager = AlertmanagerHarness.prepare(receiver.url() + "/pager").start();
  }

  @AfterEach
  void stopAlertmanager() throws Exception {
    if (alertmanager != null) alertmanager.close();
    if (receiver != null) receiver.close();
  }

  private AlertmanagerNotifierFactory factory(
      String url, Duration retryInitial, Duration retryMax) {
    var f = new AlertmanagerNotifierFactory();
    f.urls = List.of(url);
    f.resendInterval = io.dropwizard.util.Duration.seconds(resendInterval().toSeconds());
    return retrying(f, retryInitial, retryMax);
  }

  @Override
  protected List<Destination> destinations(Duration retryInitial, Duration retryMax) {
    return factory(alertmanager.url(), retryInitial, retryMax).build(Clock.systemUTC());
  }

  /** A route prefix Alertmanager does not have: 404. */
  @Override
  protected List<Destination> misconfiguredDestinations() {
    return factory(
            alertmanager.url() + "/alertmanager", Duration.ofMillis(100), Duration.ofSeconds(1))
        .build(Clock.systemUTC());
  }

  /**
   * Short, so a test sees several re-sends; each firing alert's endsAt is 4 s ahead, which a loaded
   * machine still meets (a miss would show as a spurious resolved page and fail the test).
   */
  @Override
  protected Duration resendInterval() {
    return Duration.ofSeconds(1);
  }

  @Override
  protected List<Page> pages() throws Exception {
    List<Page> pages = new ArrayList<>();
    for (HttpReceiver.Request r : receiver.requests()) {
      for (JsonNode a : JSON.readTree(r.body()).path("alerts")) {
        Map<String, String> labels = strings(a.path("labels"));
        pages.add(
            new Page(
                "resolved".equals(a.path("status").asText())
                    ? Alert.Status.RESOLVED
                    : Alert.Status.FIRING,
                labels.toString(),
                labels,
                strings(a.path("annotations"))));
      }
    }
    return pages;
  }

  @Override
  protected String identity(Alert alert) {
    return new TreeMap<>(alert.labels()).toString();
  }

  @Override
  protected void backendDown() throws Exception {
    alertmanager.stop();
  }

  @Override
  protected void backendUp() throws Exception {
    alertmanager.start();
  }

  @Test
  void anInvalidAlertIsRejectedByAlertmanagerAndNotRetried() throws Exception {
    List<Destination> ds = destinations(Duration.ofMillis(100), Duration.ofSeconds(1));
    String name = ds.getFirst().notifier().name();
    AlertDispatcher d = start(ds);
    Alert f = TestAlerts.firing("db-17", 4121);
    // Resolved before it started: Alertmanager answers 400 "start time must be before end time".
    Instant before = f.startsAt().minusSeconds(10);
    d.accept(
        new Alert(
            Alert.Status.RESOLVED,
            f.dedupKey(),
            f.labels(),
            f.annotations(),
            f.startsAt(),
            before,
            before));

    await("rejection").atMost(DEADLINE).until(() -> count(name, "rejected") == 1);
    assertThat(health(name).getMessage()).contains("HTTP 400").contains("start time");
    assertThat(count(name, "retries")).isZero();
  }

  @Test
  void anEscalationPagesTheCriticalAndResolvesTheWarning() throws Exception {
    AlertDispatcher d = start(destinations(Duration.ofMillis(100), Duration.ofSeconds(1)));
    Alert warning = TestAlerts.firing("db-17", 4121, "warning");
    Alert critical = TestAlerts.withLabel(warning, "severity", "critical");
    d.accept(warning);
    await("warning page")
        .atMost(DEADLINE)
        .until(() -> pages().stream().anyMatch(p -> p.identity().equals(identity(warning))));
    // As the detector escalates: the warning resolved, at once the critical firing, one key.
    d.accept(TestAlerts.resolved(warning));
    d.accept(critical);
    await("critical page, warning resolved")
        .atMost(DEADLINE)
        .until(
            () ->
                pages()
                    .containsAll(
                        List.of(
                            page(critical, Alert.Status.FIRING),
                            page(warning, Alert.Status.RESOLVED))));
    d.accept(TestAlerts.resolved(critical));
    await("critical resolved")
        .atMost(DEADLINE)
        .until(() -> pages().contains(page(critical, Alert.Status.RESOLVED)));
    assertThat(pages())
        .containsExactlyInAnyOrder(
            page(warning, Alert.Status.FIRING),
            page(critical, Alert.Status.FIRING),
            page(warning, Alert.Status.RESOLVED),
            page(critical, Alert.Status.RESOLVED));
  }

  private Page page(Alert a, Alert.Status status) {
    return new Page(status, identity(a), new TreeMap<>(a.labels()), new TreeMap<>(a.annotations()));
  }
}
