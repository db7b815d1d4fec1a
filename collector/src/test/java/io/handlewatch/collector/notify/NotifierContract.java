package io.handlewatch.collector.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.health.HealthCheck;
import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.detect.Alert;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every notifier must do, run against the real thing each one talks to: one page per incident
 * however often it is re-sent, and one resolution; labels and annotations arrive intact; a receiver
 * that is down is retried until it is up; a receiver that refuses the request is not retried. A
 * subclass starts its backend before each test and says what its pager saw.
 */
abstract class NotifierContract {
  /** One alert in one notification, as the pager saw it. */
  record Page(
      Alert.Status status,
      String identity,
      Map<String, String> labels,
      Map<String, String> annotations) {}

  static final Duration DEADLINE = Duration.ofSeconds(30);

  protected final MetricRegistry metrics = new MetricRegistry();
  private AlertDispatcher dispatcher;

  /** Notifiers pointed at the running backend, delivering with {@code retry} backoff. */
  protected abstract List<Destination> destinations(Duration retryInitial, Duration retryMax);

  /** Notifiers pointed at the backend but misconfigured, so that it refuses them (4xx). */
  protected abstract List<Destination> misconfiguredDestinations();

  /** How often this backend's notifier re-sends firing alerts (zero: never). */
  protected abstract Duration resendInterval();

  /** Every alert of every notification the pager got so far, in order. */
  protected abstract List<Page> pages() throws Exception;

  /** What identifies an incident on this pager (Alertmanager: the label set; webhook: key). */
  protected abstract String identity(Alert alert);

  /** Takes the receiving end down (connections refused) ... */
  protected abstract void backendDown() throws Exception;

  /** ... and up again, on the same address. */
  protected abstract void backendUp() throws Exception;

  /** Sets a factory's retry backoff, and a request timeout a loaded test machine meets. */
  protected static <F extends NotifierFactory> F retrying(F f, Duration initial, Duration max) {
    f.retryInitialDelay = io.dropwizard.util.Duration.milliseconds(initial.toMillis());
    f.retryMaxDelay = io.dropwizard.util.Duration.milliseconds(max.toMillis());
    f.timeout = io.dropwizard.util.Duration.seconds(5);
    return f;
  }

  /** A JSON object of strings (labels, annotations) as a sorted map. */
  protected static Map<String, String> strings(JsonNode object) {
    Map<String, String> m = new TreeMap<>();
    object.properties().forEach(e -> m.put(e.getKey(), e.getValue().asText()));
    return m;
  }

  protected AlertDispatcher start(List<Destination> destinations) {
    dispatcher =
        new AlertDispatcher(
            destinations, metrics, Clock.systemUTC(), AlertDispatcher.DEFAULT_MAX_PENDING);
    dispatcher.start();
    return dispatcher;
  }

  @AfterEach
  void stopDispatcher() throws Exception {
    if (dispatcher != null) dispatcher.stop();
  }

  protected long count(String name, String metric) {
    return metrics.getCounters().get("notify." + name + "." + metric).getCount();
  }

  protected long sent(String name) {
    return metrics.meter("notify." + name + ".sent").getCount();
  }

  protected HealthCheck.Result health(String name) {
    return dispatcher.healthChecks().get("notify-" + name).execute();
  }

  private List<Page> pagesOf(Alert a, Alert.Status status) throws Exception {
    return pages().stream()
        .filter(p -> p.identity().equals(identity(a)) && p.status() == status)
        .toList();
  }

  @Test
  void anIncidentPagesOnceHoweverOftenItIsSentAndResolvesOnce() throws Exception {
    List<Destination> ds = destinations(Duration.ofMillis(100), Duration.ofSeconds(1));
    String name = ds.getFirst().notifier().name();
    AlertDispatcher d = start(ds);
    Alert leak = TestAlerts.firing("db-17", 4121);

    d.accept(leak);
    d.accept(leak); // the detector saying it again is no news
    await("firing page")
        .atMost(DEADLINE)
        .until(() -> !pagesOf(leak, Alert.Status.FIRING).isEmpty());
    if (!resendInterval().isZero()) {
      await("three sends of the firing alert").atMost(DEADLINE).until(() -> sent(name) >= 3);
    }
    d.accept(TestAlerts.resolved(leak));
    await("resolved page")
        .atMost(DEADLINE)
        .until(() -> !pagesOf(leak, Alert.Status.RESOLVED).isEmpty());

    // Another incident paged after it: had the first one paged again, it would show by now.
    Alert other = TestAlerts.firing("db-18", 77);
    d.accept(other);
    await("the other incident's page")
        .atMost(DEADLINE)
        .until(() -> !pagesOf(other, Alert.Status.FIRING).isEmpty());

    List<Page> firing = pagesOf(leak, Alert.Status.FIRING);
    List<Page> resolved = pagesOf(leak, Alert.Status.RESOLVED);
    assertThat(firing).hasSize(1);
    assertThat(resolved).hasSize(1);
    assertThat(firing.getFirst().labels()).isEqualTo(leak.labels());
    assertThat(firing.getFirst().annotations()).isEqualTo(leak.annotations());
    assertThat(resolved.getFirst().labels()).isEqualTo(leak.labels());
    assertThat(metrics.counter("notify.duplicates").getCount()).isEqualTo(1);
    assertThat(count(name, "failed")).isZero();
    assertThat(health(name).isHealthy()).isTrue();
  }

  @Test
  void twoIncidentsPageTwice() throws Exception {
    AlertDispatcher d = start(destinations(Duration.ofMillis(100), Duration.ofSeconds(1)));
    Alert a = TestAlerts.firing("db-17", 4121);
    Alert b = TestAlerts.firing("db-17", 4122);
    d.accept(a);
    d.accept(b);
    await("both pages")
        .atMost(DEADLINE)
        .until(
            () ->
                !pagesOf(a, Alert.Status.FIRING).isEmpty()
                    && !pagesOf(b, Alert.Status.FIRING).isEmpty());
    assertThat(pagesOf(a, Alert.Status.FIRING)).hasSize(1);
    assertThat(pagesOf(b, Alert.Status.FIRING)).hasSize(1);
    assertThat(identity(a)).isNotEqualTo(identity(b));
  }

  @Test
  void aReceiverThatIsDownIsRetriedWithBackoffUntilItIsUp() throws Exception {
    backendDown();
    List<Destination> ds = destinations(Duration.ofMillis(100), Duration.ofMillis(400));
    String name = ds.getFirst().notifier().name();
    AlertDispatcher d = start(ds);
    Alert leak = TestAlerts.firing("db-17", 4121);
    d.accept(leak);

    await("retries").atMost(DEADLINE).until(() -> count(name, "retries") >= 2);
    assertThat(count(name, "failed")).isGreaterThanOrEqualTo(2);
    assertThat(sent(name)).isZero();
    HealthCheck.Result down = health(name);
    assertThat(down.isHealthy()).isFalse();
    assertThat(down.getMessage()).contains("failing since").contains("1 alert(s) waiting");

    backendUp();
    await("page after the receiver came up")
        .atMost(DEADLINE)
        .until(() -> !pagesOf(leak, Alert.Status.FIRING).isEmpty());
    assertThat(pagesOf(leak, Alert.Status.FIRING)).hasSize(1);
    await("healthy again").atMost(DEADLINE).until(() -> health(name).isHealthy());
    assertThat(sent(name)).isGreaterThanOrEqualTo(1);
    assertThat(count(name, "rejected")).isZero();
  }

  @Test
  void aRefusedRequestIsCountedAsAConfigurationErrorAndNotRetried() throws Exception {
    List<Destination> ds = misconfiguredDestinations();
    String name = ds.getFirst().notifier().name();
    AlertDispatcher d = start(ds);
    d.accept(TestAlerts.firing("db-17", 4121));

    await("rejection").atMost(DEADLINE).until(() -> count(name, "rejected") >= 1);
    HealthCheck.Result h = health(name);
    assertThat(h.isHealthy()).isFalse();
    assertThat(h.getMessage()).contains("rejected").containsPattern("HTTP 4\\d\\d");
    assertThat(count(name, "retries")).isZero();
    assertThat(count(name, "failed")).isZero();
    assertThat(sent(name)).isZero();
  }
}
