package io.handlewatch.collector.api;

import static io.handlewatch.collector.api.FleetApiTest.assertBad;
import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.dropwizard.testing.junit5.ResourceExtension;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.collector.testing.ApiExtension;
import io.handlewatch.collector.testing.FixedDetection;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.collector.testing.TestReports;
import jakarta.ws.rs.client.WebTarget;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code /api/v1/hosts/{host}/series} over the memory store: host {@code s} reported every 10 s for
 * the last 10 minutes, report {@code i} (1..61) with {@code i} CLOSE_WAIT sockets.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class SeriesApiTest {
  static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
  static final MutableClock clock = new MutableClock(NOW);
  static final MemoryStore store =
      new MemoryStore(64L << 20, Duration.ofHours(6), clock, new MetricRegistry());

  static final ResourceExtension API = ApiExtension.over(store, new FixedDetection(), clock);
  static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  @BeforeAll
  static void history() {
    for (int i = 0; i <= 60; i++) {
      store.write(TestReports.report("s", i + 1, NOW.minusSeconds(600 - 10L * i)));
    }
  }

  static Response request(String host, String... query) {
    WebTarget t = API.target("/v1/hosts/" + host + "/series");
    for (int i = 0; i < query.length; i += 2) t = t.queryParam(query[i], query[i + 1]);
    return t.request().get();
  }

  static JsonNode series(String... query) {
    Response r = request("s", query);
    String body = r.readEntity(String.class);
    assertThat(r.getStatus()).as(body).isEqualTo(200);
    try {
      return JSON.readTree(body);
    } catch (java.io.IOException e) {
      throw new AssertionError("not JSON: " + body, e);
    }
  }

  static List<Double> values(JsonNode line) {
    List<Double> v = new ArrayList<>();
    for (JsonNode p : line.get("points")) v.add(p.get(1).asDouble());
    return v;
  }

  @Test
  void relativeRangeInOneMinuteSteps() {
    JsonNode max = series("metric", "tcp.close_wait", "from", "-5m", "step", "1m");
    assertThat(max.get("from").asText()).isEqualTo("2026-11-24T09:55:00Z");
    assertThat(max.get("to").asText()).isEqualTo("2026-11-24T10:00:00Z");
    assertThat(max.get("step").asText()).isEqualTo("1m");
    assertThat(max.get("aggregation").asText()).isEqualTo("max");
    assertThat(max.get("series")).hasSize(1);
    JsonNode line = max.get("series").get(0);
    assertThat(line.get("tags").size()).as("host is left out").isZero();
    assertThat(values(line)).containsExactly(36., 42., 48., 54., 60., 61.);
    assertThat(line.at("/points/0/0").asLong())
        .isEqualTo(Instant.parse("2026-11-24T09:55:00Z").toEpochMilli());
    assertThat(max.get("points").asInt()).isEqualTo(6);

    assertThat(
            values(
                series("metric", "tcp.close_wait", "from", "now-5m", "step", "1m", "agg", "mean")
                    .at("/series/0")))
        .containsExactly(33.5, 39.5, 45.5, 51.5, 57.5, 61.);
    assertThat(
            values(
                series("metric", "tcp.close_wait", "from", "-5m", "step", "1m", "agg", "min")
                    .at("/series/0")))
        .containsExactly(31., 37., 43., 49., 55., 61.);
  }

  @Test
  void absoluteRangeInRfc3339WithOffsets() {
    JsonNode s =
        series(
            "metric", "tcp.close_wait",
            "from", "2026-11-24T09:58:00Z",
            "to", "2026-11-24T11:59:00+02:00",
            "step", "1m");
    assertThat(values(s.at("/series/0"))).containsExactly(54., 55.);
  }

  @Test
  void defaultsAreTheLastHourInStepsOfAtMost300Points() {
    JsonNode s = series("metric", "tcp.established");
    assertThat(s.get("from").asText()).isEqualTo("2026-11-24T09:00:00Z");
    assertThat(s.get("step").asText()).isEqualTo("15s");
    assertThat(s.get("points").asInt()).isEqualTo(41); // 4 steps a minute hold a report, + 10:00
    assertThat(values(s.at("/series/0")).getLast()).isEqualTo((double) TestReports.established(61));
  }

  @Test
  void tagsNarrowToOneProcessOrRemote() {
    JsonNode all = series("metric", "process.fds", "from", "-1m", "step", "1m");
    assertThat(all.get("series")).hasSize(2);
    JsonNode nginx = series("metric", "process.fds", "pid", "77", "from", "-1m", "step", "1m");
    assertThat(nginx.get("series")).hasSize(1);
    assertThat(nginx.at("/series/0/tags/comm").asText()).isEqualTo("nginx");
    assertThat(nginx.at("/filter/pid").asText()).isEqualTo("77");
    assertThat(values(nginx.at("/series/0"))).containsOnly(120.);

    JsonNode peer =
        series(
            "metric", "close_wait_peer.count",
            "remote", "10.0.0.9:8080",
            "from", "-30s",
            "step", "10s",
            "agg", "last");
    assertThat(peer.at("/series/0/tags/pid").asText()).isEqualTo("4242");
    assertThat(values(peer.at("/series/0"))).containsExactly(58., 59., 60., 61.);

    JsonNode port = series("metric", "port_pressure.in_use", "from", "-10s", "step", "10s");
    assertThat(port.at("/series/0/tags/remote").asText()).isEqualTo("10.0.0.5:5432");
    JsonNode sysctl =
        series("metric", "sysctl.numeric", "name", "net.core.somaxconn", "from", "-1h");
    assertThat(values(sysctl.at("/series/0"))).containsOnly(4096.);
  }

  @Test
  void aBadMetricRangeOrStepIsA400SayingWhatWasWrong() {
    Response missing = request("s");
    assertBad(missing, "metric", "metric is required");
    Response unknown = request("s", "metric", "tcp.closewait");
    assertThat(unknown.getStatus()).isEqualTo(400);
    JsonNode body = unknown.readEntity(JsonNode.class);
    assertThat(body.get("message").asText()).contains("tcp.closewait");
    assertThat(body.get("allowed")).extracting(JsonNode::asText).contains("tcp.close_wait");

    assertBad(request("s", "metric", "tcp.close_wait", "pid", "1"), "pid", "no tags");
    assertBad(
        request("s", "metric", "process.fds", "remote", "x"), "remote", "[pid, comm, namespace]");
    assertBad(request("s", "metric", "tcp.close_wait", "from", "yesterday"), "from", "yesterday");
    assertBad(request("s", "metric", "tcp.close_wait", "to", "10:00"), "to", "RFC 3339");
    assertBad(
        request("s", "metric", "tcp.close_wait", "from", "-1h", "to", "-2h"), "from", "before");
    assertBad(request("s", "metric", "tcp.close_wait", "step", "5 minutes"), "step", "5 minutes");
    assertBad(request("s", "metric", "tcp.close_wait", "step", "500ms"), "step", "under 1s");
    assertBad(
        request("s", "metric", "tcp.close_wait", "from", "-7d", "step", "1s"),
        "step",
        "604800 points per series, more than 2000: take a step of at least 303s");
    assertBad(request("s", "metric", "tcp.close_wait", "agg", "median"), "agg", "median");
  }

  @Test
  void anUnknownHostIsA404() {
    Response r = request("ghost", "metric", "tcp.close_wait");
    assertThat(r.getStatus()).isEqualTo(404);
    assertThat(r.readEntity(JsonNode.class).get("message").asText()).contains("ghost");
  }

  @Test
  void aKnownHostWithNothingInRangeIsEmptyNotAnError() {
    JsonNode s = series("metric", "tcp.close_wait", "from", "-3h", "to", "-2h");
    assertThat(s.get("series")).isEmpty();
    assertThat(s.get("points").asInt()).isZero();
  }
}
