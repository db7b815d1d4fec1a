package io.handlewatch.collector.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.dropwizard.testing.junit5.ResourceExtension;
import io.handlewatch.collector.detect.Alert;
import io.handlewatch.collector.store.memory.MemoryStore;
import io.handlewatch.collector.testing.ApiExtension;
import io.handlewatch.collector.testing.FixedDetection;
import io.handlewatch.collector.testing.MutableClock;
import io.handlewatch.collector.testing.TestFleet;
import io.handlewatch.collector.testing.TestReports;
import jakarta.ws.rs.client.WebTarget;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The fleet listing, host view, alerts and sysctl drift over {@link TestFleet}. */
@ExtendWith(DropwizardExtensionsSupport.class)
class FleetApiTest {
  static final Instant NOW = Instant.parse("2026-11-24T10:00:00Z");
  static final MutableClock clock = new MutableClock(NOW);
  static final MemoryStore store =
      new MemoryStore(64L << 20, Duration.ofHours(6), clock, new MetricRegistry());
  static final FixedDetection detection = new FixedDetection();

  static final ResourceExtension API = ApiExtension.over(store, detection, clock);

  @BeforeAll
  static void fleet() throws Exception {
    TestFleet.write(store, NOW);
    TestFleet.detect(detection, NOW);
  }

  @BeforeEach
  void resetClock() {
    clock.set(NOW);
  }

  private static JsonNode get(String path, String... query) {
    Response r = request(path, query);
    assertThat(r.getStatus()).as("%s %s", path, List.of(query)).isEqualTo(200);
    return r.readEntity(JsonNode.class);
  }

  private static Response request(String path, String... query) {
    WebTarget t = API.target(path);
    for (int i = 0; i < query.length; i += 2) t = t.queryParam(query[i], query[i + 1]);
    return t.request().get();
  }

  private static List<String> hosts(JsonNode fleet) {
    List<String> names = new ArrayList<>();
    for (JsonNode h : fleet.get("hosts")) names.add(h.get("host").asText());
    return names;
  }

  private static List<String> fleetHosts(String... query) {
    List<String> q = new ArrayList<>(List.of(query));
    q.addAll(List.of("q", "-")); // only the TestFleet hosts (all named x-y)
    return hosts(get("/v1/hosts", q.toArray(String[]::new)));
  }

  @Test
  void theDefaultOrderIsRisk() {
    assertThat(fleetHosts()).containsExactly("db-d", "db-e", "cache-c", "api-a", "edge-f", "api-b");
  }

  @Test
  void eachSortKeyPutsTheMostWorryingFirstAndMissingValuesLast() {
    assertThat(fleetHosts("sort", "close_wait"))
        .containsExactly("api-a", "api-b", "db-e", "db-d", "cache-c", "edge-f");
    assertThat(fleetHosts("sort", "close_wait", "order", "asc"))
        .containsExactly("cache-c", "db-d", "db-e", "api-b", "api-a", "edge-f");
    assertThat(fleetHosts("sort", "eta"))
        .containsExactly("db-d", "db-e", "api-a", "api-b", "cache-c", "edge-f");
    assertThat(fleetHosts("sort", "eta", "order", "desc"))
        .containsExactly("db-e", "db-d", "api-a", "api-b", "cache-c", "edge-f");
    assertThat(fleetHosts("sort", "fd_used"))
        .containsExactly("api-a", "cache-c", "db-d", "db-e", "edge-f", "api-b");
    assertThat(fleetHosts("sort", "time_wait"))
        .containsExactly("api-b", "db-e", "db-d", "api-a", "cache-c", "edge-f");
    assertThat(fleetHosts("sort", "host", "order", "desc"))
        .containsExactly("edge-f", "db-e", "db-d", "cache-c", "api-b", "api-a");
    assertThat(fleetHosts("sort", "last_seen").getFirst()).isEqualTo("cache-c");
  }

  @Test
  void filtersByStatusAndName() {
    assertThat(fleetHosts("status", "stale")).containsExactly("cache-c");
    assertThat(fleetHosts("status", "critical,warning")).containsExactly("db-d", "db-e");
    assertThat(fleetHosts("status", "critical", "status", "ok"))
        .containsExactly("db-d", "api-a", "edge-f", "api-b");
    assertThat(hosts(get("/v1/hosts", "q", "DB"))).containsExactly("db-d", "db-e");
    JsonNode none = get("/v1/hosts", "q", "nothing-like-this");
    assertThat(none.get("total").asInt()).isZero();
    assertThat(none.get("hosts")).isEmpty();
  }

  @Test
  void pagesCarryTheTotalAndTheNextOffset() {
    JsonNode first = get("/v1/hosts", "q", "-", "sort", "host", "limit", "4");
    assertThat(hosts(first)).containsExactly("api-a", "api-b", "cache-c", "db-d");
    assertThat(first.get("total").asInt()).isEqualTo(6);
    assertThat(first.get("next_offset").asInt()).isEqualTo(4);
    JsonNode last = get("/v1/hosts", "q", "-", "sort", "host", "limit", "4", "offset", "4");
    assertThat(hosts(last)).containsExactly("db-e", "edge-f");
    assertThat(last.has("next_offset")).isFalse();
    JsonNode beyond = get("/v1/hosts", "q", "-", "offset", "99");
    assertThat(beyond.get("hosts")).isEmpty();
    assertThat(beyond.get("total").asInt()).isEqualTo(6);
  }

  @Test
  void aHostCarriesItsCountsOffendersAndWorstEta() {
    JsonNode all = get("/v1/hosts", "q", "-", "sort", "host");
    assertThat(all.at("/status_counts/critical").asInt()).isEqualTo(1);
    assertThat(all.at("/status_counts/stale").asInt()).isEqualTo(1);
    JsonNode a = all.get("hosts").get(0);
    assertThat(a.get("host").asText()).isEqualTo("api-a");
    assertThat(a.get("status").asText()).isEqualTo("ok");
    assertThat(a.get("close_wait").asLong()).isEqualTo(50);
    assertThat(a.get("time_wait").asLong()).isEqualTo(10);
    assertThat(a.at("/tcp/listen").asLong()).isEqualTo(12);
    assertThat(a.get("fd_used_percent").asDouble()).isEqualTo(87.891);
    assertThat(a.get("fd_used_by").asText()).isEqualTo("process");
    assertThat(a.at("/top_offender/comm").asText()).isEqualTo("java");
    assertThat(a.at("/top_offender/fds").asLong()).isEqualTo(900);
    assertThat(a.at("/top_close_wait/top_remote").asText()).isEqualTo("10.0.0.9:8080");
    assertThat(a.at("/top_close_wait/top_remote_count").asLong()).isEqualTo(50);
    assertThat(a.get("last_seen").asText()).isEqualTo(NOW.minusSeconds(5).toString());
    assertThat(a.get("interval_seconds").asDouble()).isEqualTo(10.0);
    assertThat(a.get("interval_observed").asBoolean()).isTrue();
    assertThat(a.has("worst_eta")).as("no verdict, no ETA").isFalse();

    JsonNode d = all.get("hosts").get(3);
    assertThat(d.get("status").asText()).isEqualTo("critical");
    assertThat(d.at("/worst_eta/eta_seconds").asDouble()).isEqualTo(3600.0);
    assertThat(d.at("/worst_eta/subject").asText()).isEqualTo("java[4242]");

    JsonNode f = all.get("hosts").get(5);
    assertThat(f.has("close_wait")).as("absent, not zero").isFalse();
    assertThat(f.has("tcp")).isFalse();
    assertThat(f.has("top_close_wait")).isFalse();
  }

  /**
   * The page agrees with the pager: an alert outlives its verdict by the quiet period, and a host
   * the pager is paging about must not show "ok" meanwhile, in the listing, its filters and counts,
   * nor in its own view.
   */
  @Test
  void aFiringAlertSetsTheStatusWhateverTheVerdictsSay() {
    List<Alert> added =
        List.of(
            alert(Alert.Status.FIRING, "api-b", "critical"), // no verdict at all
            alert(Alert.Status.FIRING, "cache-c", "warning"), // stale
            alert(Alert.Status.FIRING, "db-e", "critical"), // a warning verdict
            alert(Alert.Status.FIRING, "edge-f", null), // no severity label: still paged
            alert(Alert.Status.RESOLVED, "api-a", "critical")); // over: no say
    JsonNode before = get("/v1/hosts").get("status_counts");
    detection.alerts.addAll(added);
    try {
      JsonNode all = get("/v1/hosts", "q", "-", "sort", "host");
      Map<String, String> status = new java.util.TreeMap<>();
      all.get("hosts").forEach(h -> status.put(h.get("host").asText(), h.get("status").asText()));
      assertThat(status)
          .containsExactly(
              Map.entry("api-a", "ok"),
              Map.entry("api-b", "critical"),
              Map.entry("cache-c", "warning"),
              Map.entry("db-d", "critical"),
              Map.entry("db-e", "critical"),
              Map.entry("edge-f", "warning"));
      // Counted over the whole store (other tests add hosts): what moved.
      JsonNode after = all.get("status_counts");
      assertThat(after.get("critical").asInt() - before.get("critical").asInt()).isEqualTo(2);
      assertThat(after.get("warning").asInt() - before.get("warning").asInt()).isEqualTo(1);
      assertThat(after.get("stale").asInt() - before.get("stale").asInt()).isEqualTo(-1);
      assertThat(after.get("ok").asInt() - before.get("ok").asInt()).isEqualTo(-2);
      assertThat(fleetHosts("status", "ok")).containsExactly("api-a");
      assertThat(fleetHosts("status", "critical"))
          .containsExactlyInAnyOrder("api-b", "db-d", "db-e");
      assertThat(fleetHosts("status", "stale")).isEmpty();

      JsonNode b = get("/v1/hosts/api-b");
      assertThat(b.get("status").asText()).isEqualTo("critical");
      assertThat(b.get("verdicts")).isEmpty();
      assertThat(b.at("/alerts/0/severity").asText()).isEqualTo("critical");
      assertThat(get("/v1/hosts/cache-c").get("status").asText()).isEqualTo("warning");
    } finally {
      detection.alerts.removeAll(added);
    }
    assertThat(status("api-b")).as("resolved: back to its verdicts").isEqualTo("ok");
    assertThat(status("cache-c")).isEqualTo("stale");
  }

  private static Alert alert(Alert.Status status, String host, String severity) {
    Map<String, String> labels = new java.util.HashMap<>();
    labels.put("alertname", "CloseWaitGrowing");
    labels.put("host", host);
    if (severity != null) labels.put("severity", severity);
    return new Alert(
        status,
        host + "/close_wait/java[7]",
        labels,
        Map.of("summary", host + ": CLOSE_WAIT growing"),
        NOW.minus(Duration.ofMinutes(30)),
        status == Alert.Status.RESOLVED ? NOW.minus(Duration.ofMinutes(1)) : null,
        NOW);
  }

  @Test
  void aHostTurnsStaleAfterThreeOfItsOwnIntervals() throws Exception {
    Instant t = NOW.minusSeconds(20);
    for (int i = 0; i < 3; i++) {
      store.write(TestReports.report("tick", i + 1, t.plusSeconds(10L * i))).get();
    }
    store.write(TestReports.report("once", 1, NOW)).get();
    clock.set(NOW.plusSeconds(30)); // silent for exactly 3 intervals: not yet
    assertThat(status("tick")).isEqualTo("ok");
    clock.set(NOW.plusSeconds(31));
    assertThat(status("tick")).isEqualTo("stale");
    JsonNode tick = get("/v1/hosts", "q", "tick").get("hosts").get(0);
    assertThat(tick.get("age_seconds").asDouble()).isEqualTo(31.0);

    // One report: the configured default interval (10 s) until a second one comes.
    JsonNode once = get("/v1/hosts", "q", "once").get("hosts").get(0);
    assertThat(once.get("interval_observed").asBoolean()).isFalse();
    assertThat(once.get("status").asText()).isEqualTo("stale");
    clock.set(NOW.plusSeconds(29));
    assertThat(status("once")).isEqualTo("ok");
  }

  private static String status(String host) {
    return get("/v1/hosts", "q", host).get("hosts").get(0).get("status").asText();
  }

  @Test
  void badListingParametersAre400sNamingTheParameter() {
    assertBad(request("/v1/hosts", "sort", "cpu"), "sort", "cpu");
    assertThat(request("/v1/hosts", "sort", "cpu").readEntity(JsonNode.class).get("allowed"))
        .extracting(JsonNode::asText)
        .contains("risk", "eta", "close_wait", "fd_used", "host");
    assertBad(request("/v1/hosts", "order", "up"), "order", "up");
    assertBad(request("/v1/hosts", "status", "sick"), "status", "sick");
    assertBad(request("/v1/hosts", "limit", "0"), "limit", "0");
    assertBad(request("/v1/hosts", "limit", "ten"), "limit", "ten");
    assertBad(request("/v1/hosts", "limit", "5000"), "limit", "5000");
    assertBad(request("/v1/hosts", "offset", "-1"), "offset", "-1");
  }

  static void assertBad(Response r, String parameter, String mentioned) {
    assertThat(r.getStatus()).isEqualTo(400);
    JsonNode body = r.readEntity(JsonNode.class);
    assertThat(body.get("code").asInt()).isEqualTo(400);
    assertThat(body.get("parameter").asText()).isEqualTo(parameter);
    assertThat(body.get("message").asText()).contains(mentioned);
  }

  @Test
  void theHostViewHasProcessesPortsSysctlsVerdictsAndAlerts() {
    JsonNode d = get("/v1/hosts/db-d");
    assertThat(d.get("host").asText()).isEqualTo("db-d");
    assertThat(d.get("status").asText()).isEqualTo("critical");
    JsonNode java = d.get("processes").get(0);
    assertThat(java.get("comm").asText()).isEqualTo("java");
    assertThat(java.get("fds").asLong()).isEqualTo(300);
    assertThat(java.get("soft_limit").asLong()).isEqualTo(1024);
    assertThat(java.get("hard_limit").asLong()).isEqualTo(4096);
    assertThat(java.get("selected_by").asText()).isEqualTo("fd_ratio");
    assertThat(java.at("/sockets/close_wait").asLong()).isEqualTo(1);
    assertThat(java.at("/close_wait_peers/0/remote").asText()).isEqualTo("10.0.0.9:8080");
    assertThat(d.get("processes").get(1).get("comm").asText()).isEqualTo("nginx");

    JsonNode port = d.at("/port_pressure/top/0");
    assertThat(port.get("remote").asText()).isEqualTo("10.0.0.5:5432");
    assertThat(port.get("in_use").asLong()).isEqualTo(203);
    assertThat(port.get("used_percent").asDouble()).isEqualTo(0.719);
    assertThat(d.at("/port_pressure/range_size").asInt()).isEqualTo(28232);

    JsonNode somaxconn = d.get("sysctls").get(0);
    assertThat(somaxconn.get("name").asText()).isEqualTo("net.core.somaxconn");
    assertThat(somaxconn.get("value").asText()).isEqualTo("128");
    assertThat(somaxconn.get("fleet_majority").asText()).isEqualTo("4096");
    assertThat(somaxconn.at("/findings/0/finding").asText()).isEqualTo("low_somaxconn");
    assertThat(d.get("sysctls").get(1).has("fleet_majority")).isFalse();

    assertThat(d.at("/verdicts/0/kind").asText()).isEqualTo("process_fds");
    assertThat(d.at("/verdicts/0/severity").asText()).isEqualTo("critical");
    assertThat(d.at("/verdicts/0/since").asText()).isEqualTo(NOW.minusSeconds(1200).toString());
    assertThat(d.at("/alerts/0/alertname").asText()).isEqualTo("ProcessFileDescriptorsRunningOut");
    assertThat(d.at("/alerts/0/status").asText()).isEqualTo("firing");
    assertThat(d.at("/sysctl_findings/0/recommended").asText()).isEqualTo("4096");
    assertThat(d.at("/sample/host/hostname").asText()).isEqualTo("db-d");

    JsonNode a = get("/v1/hosts/api-a");
    assertThat(a.get("verdicts")).isEmpty();
    assertThat(a.get("alerts")).isEmpty();
  }

  @Test
  void anUnknownHostIsA404NamingIt() {
    Response r = request("/v1/hosts/nowhere");
    assertThat(r.getStatus()).isEqualTo(404);
    JsonNode body = r.readEntity(JsonNode.class);
    assertThat(body.get("code").asInt()).isEqualTo(404);
    assertThat(body.get("parameter").asText()).isEqualTo("host");
    assertThat(body.get("message").asText()).contains("nowhere");
  }

  @Test
  void alertsAndDriftComeFromTheReadModel() {
    JsonNode alerts = get("/v1/alerts");
    assertThat(alerts.get("total").asInt()).isEqualTo(1);
    assertThat(alerts.at("/alerts/0/host").asText()).isEqualTo("db-d");
    assertThat(alerts.at("/alerts/0/labels/pid").asText()).isEqualTo("4242");
    assertThat(alerts.at("/alerts/0/starts_at").asText())
        .isEqualTo(NOW.minusSeconds(1200).toString());
    assertThat(get("/v1/alerts", "host", "api-a").get("alerts")).isEmpty();

    JsonNode drift = get("/v1/sysctl-drift");
    assertThat(drift.at("/sysctls/0/name").asText()).isEqualTo("net.core.somaxconn");
    assertThat(drift.at("/sysctls/0/majority_value").asText()).isEqualTo("4096");
    assertThat(drift.at("/sysctls/0/differing/0/host").asText()).isEqualTo("db-d");
    assertThat(get("/v1/sysctl-drift", "name", "fs.file-max").get("sysctls")).isEmpty();
  }

  @Test
  void withoutADetectorEverythingIsOkOrStaleAndNothingFires() {
    MemoryStore s = new MemoryStore(8L << 20, Duration.ofHours(6), clock, new MetricRegistry());
    HostSummaries plain = new HostSummaries(s, new NoDetection(), clock, Duration.ofSeconds(10), 3);
    TestFleet.reports(NOW).forEach(s::write);
    assertThat(plain.all())
        .extracting(h -> h.host() + "=" + h.status().json())
        .containsExactly(
            "api-a=ok", "api-b=ok", "cache-c=stale", "db-d=ok", "db-e=ok", "edge-f=ok");
    assertThat(plain.all()).allSatisfy(h -> assertThat(h.worstEta()).isNull());
  }
}
