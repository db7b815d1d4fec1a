package io.handlewatch.collector.notify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.testing.HttpReceiver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The notifier contract for the webhook, against a real HTTP receiver on loopback that answers like
 * PagerDuty's Events API v2: 202 for an event with the right routing key at {@code /v2/enqueue},
 * 400 otherwise.
 */
class WebhookNotifierIT extends NotifierContract {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ROUTING_KEY = "R0UT1NGKEY0000000000000000000000";

  private HttpReceiver receiver;
  private int port;

  @BeforeEach
  void startReceiver() throws Exception {
    receiver = pagerDutyLike(HttpReceiver.start());
    port = receiver.port();
  }

  private static HttpReceiver pagerDutyLike(HttpReceiver r) {
    r.answerBy(
        req -> {
          try {
            boolean ok =
                req.path().equals("/v2/enqueue")
                    && ROUTING_KEY.equals(JSON.readTree(req.body()).path("routing_key").asText());
            return ok ? 202 : 400;
          } catch (Exception e) {
            return 400;
          }
        });
    return r;
  }

  @AfterEach
  void stopReceiver() {
    if (receiver != null) receiver.close();
  }

  private WebhookNotifierFactory factory(String routingKey, Duration retryInitial, Duration max) {
    var f = new WebhookNotifierFactory();
    f.url = "http://127.0.0.1:" + port + "/v2/enqueue";
    f.routingKey = routingKey;
    f.headers = Map.of("Authorization", "Token token=test");
    return retrying(f, retryInitial, max);
  }

  @Override
  protected List<Destination> destinations(Duration retryInitial, Duration retryMax) {
    return factory(ROUTING_KEY, retryInitial, retryMax).build(Clock.systemUTC());
  }

  /** A wrong integration key: PagerDuty answers 400. */
  @Override
  protected List<Destination> misconfiguredDestinations() {
    return factory("wrong", Duration.ofMillis(100), Duration.ofSeconds(1)).build(Clock.systemUTC());
  }

  /** The webhook's default: each transition once (the receiver dedups re-sends anyway). */
  @Override
  protected Duration resendInterval() {
    return Duration.ZERO;
  }

  @Override
  protected List<Page> pages() throws Exception {
    List<Page> pages = new ArrayList<>();
    for (HttpReceiver.Request r : receiver.requests()) {
      JsonNode e = JSON.readTree(r.body());
      if (!ROUTING_KEY.equals(e.path("routing_key").asText())) continue; // refused with 400
      JsonNode details = e.path("payload").path("custom_details");
      pages.add(
          new Page(
              e.path("event_action").asText().equals("resolve")
                  ? Alert.Status.RESOLVED
                  : Alert.Status.FIRING,
              e.path("dedup_key").asText(),
              strings(details.path("labels")),
              strings(details.path("annotations"))));
    }
    return pages;
  }

  @Override
  protected String identity(Alert alert) {
    return alert.dedupKey();
  }

  @Override
  protected void backendDown() {
    receiver.close(); // nothing connected yet: the port is free to listen on again
  }

  @Override
  protected void backendUp() throws Exception {
    receiver = pagerDutyLike(HttpReceiver.start(port));
  }

  @Test
  void triggerAndResolveCarryTheEventsApiV2Fields() throws Exception {
    AlertDispatcher d = start(destinations(Duration.ofMillis(100), Duration.ofSeconds(1)));
    Alert leak = TestAlerts.firing("db-17", 4121);
    d.accept(leak);
    // Awaited first: a resolve queued before the trigger went out would replace it.
    await("trigger").atMost(DEADLINE).until(() -> receiver.requests().size() == 1);
    Alert end = TestAlerts.resolved(leak);
    d.accept(end);
    await("resolve").atMost(DEADLINE).until(() -> receiver.requests().size() == 2);

    HttpReceiver.Request first = receiver.requests().get(0);
    HttpReceiver.Request second = receiver.requests().get(1);
    assertThat(first.method()).isEqualTo("POST");
    assertThat(first.path()).isEqualTo("/v2/enqueue");
    assertThat(first.headers())
        .containsEntry("content-type", "application/json")
        .containsEntry("authorization", "Token token=test");

    JsonNode trigger = JSON.readTree(first.body());
    assertThat(trigger.path("routing_key").asText()).isEqualTo(ROUTING_KEY);
    assertThat(trigger.path("event_action").asText()).isEqualTo("trigger");
    assertThat(trigger.path("dedup_key").asText()).isEqualTo("db-17/close_wait_growth/4121");
    assertThat(trigger.path("client").asText()).isEqualTo("handlewatch");
    JsonNode p = trigger.path("payload");
    assertThat(p.path("summary").asText())
        .isEqualTo("db-17: java (pid 4121) leaks CLOSE_WAIT sockets to 10.0.0.5:5432");
    assertThat(p.path("source").asText()).isEqualTo("db-17");
    assertThat(p.path("severity").asText()).isEqualTo("critical");
    assertThat(Instant.parse(p.path("timestamp").asText())).isEqualTo(leak.at());
    assertThat(p.path("component").asText()).isEqualTo("java[4121]");
    assertThat(p.path("group").asText()).isEqualTo("10.0.0.5:5432");
    assertThat(p.path("class").asText()).isEqualTo("CloseWaitGrowth");
    JsonNode details = p.path("custom_details");
    assertThat(details.path("description").asText()).contains("+40/min").contains("1 h 50 min");
    assertThat(strings(details.path("evidence")))
        .isEqualTo(Map.of("value", "3812", "slope_per_min", "40", "eta_seconds", "6600"));
    assertThat(strings(details.path("labels"))).isEqualTo(leak.labels());
    assertThat(strings(details.path("annotations"))).isEqualTo(leak.annotations());
    assertThat(Instant.parse(details.path("starts_at").asText())).isEqualTo(leak.startsAt());
    assertThat(details.has("ends_at")).isFalse();
    assertThat(trigger.path("links").size()).isEqualTo(1);
    assertThat(trigger.path("links").get(0).path("href").asText())
        .isEqualTo("https://runbooks.example/close-wait");
    assertThat(trigger.path("links").get(0).path("text").asText()).isEqualTo("Runbook");

    JsonNode resolve = JSON.readTree(second.body());
    assertThat(resolve.path("routing_key").asText()).isEqualTo(ROUTING_KEY);
    assertThat(resolve.path("event_action").asText()).isEqualTo("resolve");
    assertThat(resolve.path("dedup_key").asText()).isEqualTo(trigger.path("dedup_key").asText());
    assertThat(
            Instant.parse(resolve.path("payload").path("custom_details").path("ends_at").asText()))
        .isEqualTo(end.endsAt());
  }

  @Test
  void withResendIntervalTriggersRepeatUnderTheSameDedupKey() throws Exception {
    var f = factory(ROUTING_KEY, Duration.ofMillis(100), Duration.ofSeconds(1));
    f.resendInterval = io.dropwizard.util.Duration.milliseconds(200);
    AlertDispatcher d = start(f.build(Clock.systemUTC()));
    Alert leak = TestAlerts.firing("db-17", 4121);
    d.accept(leak);
    await("three triggers").atMost(DEADLINE).until(() -> pages().size() >= 3);
    d.accept(TestAlerts.resolved(leak));
    await("resolve")
        .atMost(DEADLINE)
        .until(() -> pages().stream().anyMatch(x -> x.status() == Alert.Status.RESOLVED));
    assertThat(pages()).extracting(Page::identity).containsOnly(leak.dedupKey());
  }

  @Test
  void serverErrorsAreRetriedAndHonourRetryAfter() throws Exception {
    receiver.answerNext(503, 429);
    receiver.retryAfterOn429(1);
    List<Destination> ds = destinations(Duration.ofMillis(50), Duration.ofMillis(200));
    String name = ds.getFirst().notifier().name();
    AlertDispatcher d = start(ds);
    Alert leak = TestAlerts.firing("db-17", 4121);
    d.accept(leak);
    await("delivered").atMost(DEADLINE).until(() -> sent(name) == 1);
    List<HttpReceiver.Request> rs = receiver.requests();
    assertThat(rs).hasSize(3);
    // The backoff alone would have waited 50-200 ms; the 429 asked for a second.
    assertThat(Duration.ofNanos(rs.get(2).nanos() - rs.get(1).nanos()))
        .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
    assertThat(count(name, "failed")).isEqualTo(2);
    assertThat(count(name, "retries")).isEqualTo(2);
  }
}
