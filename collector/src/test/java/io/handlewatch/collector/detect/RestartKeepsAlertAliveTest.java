package io.handlewatch.collector.detect;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import io.handlewatch.collector.notify.AlertDispatcher;
import io.handlewatch.collector.notify.AlertmanagerNotifier;
import io.handlewatch.collector.notify.DeliveryPolicy;
import io.handlewatch.collector.notify.Destination;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.collector.testing.AlertmanagerHarness;
import io.handlewatch.collector.testing.HttpReceiver;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.collector.testing.PagingStack;
import io.handlewatch.proto.v1.HostReport;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A collector restarts while an incident fires, and the history read of the host after the restart
 * answers only after the alert's {@code endsAt} (four re-send intervals after the last send before
 * the restart): a real Alertmanager must keep the alert firing throughout, one notification in all,
 * never a resolved one. The re-send interval is 1 s here (endsAt 4 s ahead), so the hold is
 * seconds; detection is the default.
 */
class RestartKeepsAlertAliveTest {
  static final Duration RESEND = Duration.ofSeconds(1);

  final MutableClock clock = new MutableClock(DetectionEngineTest.T0);
  final MemoryStore shared =
      new MemoryStore(256 << 20, Duration.ofDays(1), clock, new MetricRegistry());
  final List<AutoCloseable> closing = new ArrayList<>();
  HttpReceiver receiver;
  AlertmanagerHarness alertmanager;

  /** A collector's detector and its dispatcher to the one Alertmanager. */
  final class Collector implements AutoCloseable {
    final MetricRegistry metrics = new MetricRegistry();
    final AlertDispatcher dispatcher;
    final FedDetector detection;
    final List<Alert> alerts;

    Collector(DetectionFactory config, SampleStore backend) throws Exception {
      AlertmanagerNotifier am =
          new AlertmanagerNotifier(
              "am",
              alertmanager.url(),
              Duration.ofSeconds(5),
              Map.of(),
              RESEND,
              null,
              Clock.systemUTC());
      dispatcher =
          new AlertDispatcher(
              List.of(
                  new Destination(
                      am,
                      new DeliveryPolicy(RESEND, Duration.ofMillis(100), Duration.ofSeconds(1)))),
              metrics,
              Clock.systemUTC(),
              AlertDispatcher.DEFAULT_MAX_PENDING);
      dispatcher.start();
      detection =
          new FedDetector(
              config,
              backend,
              clock,
              metrics,
              d -> {
                d.addAlertListener(dispatcher);
                d.addWarmUpListener(dispatcher);
              });
      alerts = detection.alerts;
      closing.add(this);
    }

    void feed(HostReport r) throws Exception {
      detection.feed(r);
    }

    long count(String counter) {
      return detection.count(counter);
    }

    /** Stops as a crash would: nothing more is sent, nothing resolved or released. */
    @Override
    public void close() throws Exception {
      detection.close();
      dispatcher.stop();
    }
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (AutoCloseable c : closing.reversed()) c.close();
  }

  void startAlertmanager() throws Exception {
    receiver = HttpReceiver.start();
    closing.add(receiver);
    alertmanager = AlertmanagerHarness.prepare(receiver.url() + "/").start();
    closing.add(alertmanager);
  }

  @Test
  void anIncidentOpenBeforeTheRestartStaysOnePageWhenTheHistoryReadAnswersAfterItsEndsAt()
      throws Exception {
    startAlertmanager();
    List<HostReport> trace = DetectionRunnerTakeoverTest.leak();
    int restart = 35 * 6; // minute 35: the incident is open, the leak goes on until minute 55
    Collector before = new Collector(new DetectionFactory(), shared);
    for (HostReport r : trace.subList(0, restart)) before.feed(r);
    Alert paged = before.alerts.getFirst();
    assertThat(paged.status()).isEqualTo(Alert.Status.FIRING);
    FedDetector.await(() -> firing(paged).size() == 1, "the page before the restart");
    before.close();
    closing.remove(before);
    Instant endsAt = Instant.parse(activeAlert(paged).path("endsAt").asText());

    // After the restart the host's history read is held until the alert's endsAt has passed.
    CountDownLatch letGo = new CountDownLatch(1);
    DetectionFactory config = new DetectionFactory();
    config.warmUp.timeout = io.dropwizard.util.Duration.milliseconds(300);
    Collector after = new Collector(config, heldHistoryReads(letGo));
    for (HostReport r : trace.subList(restart, restart + 3)) after.feed(r);
    assertThat(after.count("detect.warmup.cold")).isEqualTo(1);
    // The hold: past endsAt, and past Alertmanager's group_interval (500 ms) after it.
    long past = Duration.between(Instant.now(), endsAt.plusSeconds(2)).toMillis();
    if (past > 0) Thread.sleep(past); // the read's hold, which is what this test is about
    assertThat(activeAlert(paged)).as("still firing in Alertmanager past endsAt").isNotNull();

    letGo.countDown();
    FedDetector.await(() -> after.count("detect.warmup.late") == 1, "late history merged");
    for (HostReport r : trace.subList(restart + 3, 45 * 6)) after.feed(r);
    assertThat(after.alerts)
        .extracting(Alert::status, Alert::labels, Alert::startsAt)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                Alert.Status.FIRING, paged.labels(), paged.startsAt()));
    FedDetector.await(
        () -> after.metrics.meter("notify.am.sent").getCount() > 0, "the incident sent on");
    Thread.sleep(1500); // three group intervals, for a notification that must not come

    assertThat(resolved(paged)).as("resolved notifications").isEmpty();
    assertThat(firing(paged)).as("firing notifications").hasSize(1);
    assertThat(Instant.parse(activeAlert(paged).path("startsAt").asText()))
        .isEqualTo(paged.startsAt());
  }

  /** The shared store, whose history reads wait until {@code letGo}. */
  SampleStore heldHistoryReads(CountDownLatch letGo) {
    return (SampleStore)
        Proxy.newProxyInstance(
            SampleStore.class.getClassLoader(),
            new Class<?>[] {SampleStore.class},
            (proxy, method, args) -> {
              if (method.getName().startsWith("histor")) {
                assertThat(letGo.await(60, TimeUnit.SECONDS)).isTrue();
              }
              try {
                return method.invoke(shared, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  List<JsonNode> notifications(Alert a, String status) {
    List<JsonNode> out = new ArrayList<>();
    for (HttpReceiver.Request q : receiver.requests()) {
      JsonNode n = PagingStack.parse(q.body());
      if (!n.path("status").asText().equals(status)) continue;
      for (JsonNode x : n.path("alerts")) {
        if (x.at("/labels/alertname").asText().equals(a.labels().get("alertname"))
            && x.at("/labels/host").asText().equals(a.host())) {
          out.add(n);
          break;
        }
      }
    }
    return out;
  }

  List<JsonNode> firing(Alert a) {
    return notifications(a, "firing");
  }

  List<JsonNode> resolved(Alert a) {
    return notifications(a, "resolved");
  }

  /** The alert as Alertmanager shows it active now, or null. */
  JsonNode activeAlert(Alert a) throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(alertmanager.url() + "/api/v2/alerts")).build(),
              HttpResponse.BodyHandlers.ofString());
      for (JsonNode x : PagingStack.parse(r.body())) {
        boolean same = true;
        for (var e : a.labels().entrySet()) {
          same &= x.at("/labels/" + e.getKey()).asText().equals(e.getValue());
        }
        if (same) return x;
      }
      return null;
    }
  }
}
