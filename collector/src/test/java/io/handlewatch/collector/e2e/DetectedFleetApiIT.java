package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.testing.DetectedFleet;
import io.handlewatch.collector.testing.IngestClient;
import io.handlewatch.collector.testing.OpenApiSchemas;
import io.handlewatch.proto.v1.HostReport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The REST API answering from the real detector: a collector (memory store, default detection)
 * takes {@link DetectedFleet}'s 40 minutes of reports over gRPC, and each endpoint says which hosts
 * are at risk, which process, towards which remote, since when; every answer is valid against the
 * OpenAPI description.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
class DetectedFleetApiIT {
  static final DropwizardAppExtension<CollectorConfiguration> APP =
      new DropwizardAppExtension<>(
          CollectorApplication.class, ResourceHelpers.resourceFilePath("test-memory.yml"));
  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient http = HttpClient.newHttpClient();
  static Instant end;

  @BeforeAll
  static void fleet() throws Exception {
    end = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    int port = APP.<CollectorApplication>getApplication().ingest().port();
    for (Map.Entry<String, List<HostReport>> h : DetectedFleet.reports(end).entrySet()) {
      IngestClient.stream(port, h.getValue());
    }
    DetectedFleet.awaitJudged(APP.<CollectorApplication>getApplication().detector().view(), end);
  }

  static JsonNode get(String pathAndQuery, String schema) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + APP.getLocalPort() + "/api/v1/" + pathAndQuery))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("%s: %s", pathAndQuery, r.body()).isEqualTo(200);
    JsonNode body = JSON.readTree(r.body());
    assertThat(OpenApiSchemas.errors(schema, body)).as("%s against %s", body, schema).isEmpty();
    return body;
  }

  static JsonNode host(JsonNode fleet, String name) {
    for (JsonNode h : fleet.get("hosts")) if (h.get("host").asText().equals(name)) return h;
    throw new AssertionError("no " + name + " in " + fleet);
  }

  @Test
  void theFleetListingTakesStatusAndWorstEtaFromTheVerdicts() throws Exception {
    JsonNode fleet = get("hosts", "Fleet");
    List<String> order = new ArrayList<>();
    fleet.get("hosts").forEach(h -> order.add(h.get("host").asText()));
    assertThat(order.subList(0, 2))
        .as("the two leaking hosts first")
        .containsExactlyInAnyOrder(DetectedFleet.CLOSE_WAIT_HOST, DetectedFleet.FD_HOST);
    assertThat(order.get(2)).isEqualTo(DetectedFleet.WARNING_HOST);
    assertThat(fleet.at("/status_counts/critical").asInt()).isEqualTo(2);
    assertThat(fleet.at("/status_counts/warning").asInt()).isEqualTo(1);
    assertThat(fleet.at("/status_counts/ok").asInt()).isEqualTo(3);

    JsonNode cw = host(fleet, DetectedFleet.CLOSE_WAIT_HOST);
    assertThat(cw.get("status").asText()).isEqualTo("critical");
    assertThat(cw.at("/worst_eta/subject").asText()).isEqualTo("java[4121]");
    assertThat(cw.at("/worst_eta/kind").asText()).isIn("close_wait", "process_fds");
    assertThat(cw.at("/top_close_wait/top_remote").asText()).isEqualTo(DetectedFleet.CW_REMOTE);

    JsonNode fd = host(fleet, DetectedFleet.FD_HOST);
    assertThat(fd.get("status").asText()).isEqualTo("critical");
    assertThat(fd.at("/worst_eta/kind").asText()).isEqualTo("process_fds");
    assertThat(fd.at("/worst_eta/subject").asText()).isEqualTo("worker[5150]");
    assertThat(fd.at("/worst_eta/severity").asText()).isEqualTo("critical");
    // The true time left at the end of the history: exhausted at minute 80, now at minute 40.
    double trueEta = (DetectedFleet.FD_EXHAUSTED - DetectedFleet.MINUTES) * 60;
    assertThat(fd.at("/worst_eta/eta_seconds").asDouble())
        .as("ETA within 20 %% of the truth")
        .isCloseTo(trueEta, within(trueEta * 0.2));

    JsonNode warning = host(fleet, DetectedFleet.WARNING_HOST);
    assertThat(warning.get("status").asText()).isEqualTo("warning");
    assertThat(warning.at("/worst_eta/subject").asText()).isEqualTo("consumer[6160]");
    assertThat(warning.at("/worst_eta/eta_seconds").asDouble())
        .as("between the warning and critical horizons")
        .isBetween(3600.0, 86400.0);

    assertThat(host(fleet, DetectedFleet.ODD_HOST).get("status").asText())
        .as("findings never page")
        .isEqualTo("ok");
    for (String ok : DetectedFleet.HEALTHY) {
      assertThat(host(fleet, ok).get("status").asText()).as(ok).isEqualTo("ok");
    }

    JsonNode critical = get("hosts?status=critical&sort=eta", "Fleet");
    assertThat(critical.get("total").asInt()).isEqualTo(2);
    assertThat(critical.at("/hosts/0/host").asText())
        .as("nearest exhaustion first")
        .isEqualTo(DetectedFleet.FD_HOST);
  }

  @Test
  void theHostViewNamesProcessRemoteSinceAndItsAlert() throws Exception {
    JsonNode h = get("hosts/" + DetectedFleet.CLOSE_WAIT_HOST, "HostDetail");
    JsonNode v = h.at("/verdicts/0");
    assertThat(v.get("kind").asText()).isEqualTo("close_wait");
    assertThat(v.get("severity").asText()).isEqualTo("critical");
    assertThat(v.get("subject").asText()).isEqualTo("java[4121]");
    assertThat(v.get("slope_per_min").asDouble()).as("1 per second").isCloseTo(60, within(6.0));
    assertThat(v.get("value").asDouble()).isCloseTo(15 * 60, within(60.0));
    assertThat(v.get("limit").asDouble()).isEqualTo(65_536);
    assertThat(v.get("window_seconds").asLong()).isPositive();
    Instant leakStart = DetectedFleet.start(end).plusSeconds((long) (DetectedFleet.CW_START * 60));
    assertThat(Instant.parse(v.get("since").asText()))
        .as("since the leak began")
        .isBetween(leakStart.minus(Duration.ofMinutes(2)), leakStart.plus(Duration.ofMinutes(2)));
    assertThat(v.get("summary").asText()).contains("java[4121]", DetectedFleet.CW_REMOTE);

    assertThat(h.get("alerts")).hasSize(1);
    JsonNode a = h.at("/alerts/0");
    assertThat(a.get("status").asText()).isEqualTo("firing");
    assertThat(a.get("alertname").asText()).isEqualTo("CloseWaitGrowing");
    assertThat(a.at("/labels/pid").asText()).isEqualTo("4121");
    assertThat(a.at("/labels/comm").asText()).isEqualTo("java");
    assertThat(a.at("/labels/remote").asText()).isEqualTo(DetectedFleet.CW_REMOTE);
    assertThat(a.at("/annotations/runbook_url").asText())
        .as("absolute: the runbook the collector serves")
        .isEqualTo("http://127.0.0.1:" + APP.getLocalPort() + "/runbook#close_wait");
    assertThat(Instant.parse(a.get("starts_at").asText())).isAfter(leakStart);

    JsonNode java = h.at("/processes/0");
    assertThat(java.get("pid").asInt()).isEqualTo(DetectedFleet.CW_PID);
    assertThat(java.at("/close_wait_peers/0/remote").asText()).isEqualTo(DetectedFleet.CW_REMOTE);
  }

  @Test
  void theOddHostShowsItsFindingsAndWhereItDriftsFromTheFleet() throws Exception {
    JsonNode h = get("hosts/" + DetectedFleet.ODD_HOST, "HostDetail");
    assertThat(h.get("verdicts")).isEmpty();
    assertThat(h.get("alerts")).isEmpty();
    Map<String, JsonNode> findings = new java.util.TreeMap<>();
    for (JsonNode f : h.get("sysctl_findings")) {
      findings.put(f.get("finding").asText() + " " + f.get("name").asText(), f);
    }
    assertThat(findings)
        .containsOnlyKeys(
            "tcp_tw_recycle net.ipv4.tcp_tw_recycle",
            "low_somaxconn net.core.somaxconn",
            "sysctl_drift net.core.somaxconn");
    JsonNode recycle = findings.get("tcp_tw_recycle net.ipv4.tcp_tw_recycle");
    assertThat(recycle.get("value").asText()).isEqualTo("1");
    assertThat(recycle.get("recommended").asText()).isEqualTo("0");
    assertThat(recycle.get("message").asText()).contains("NAT");
    JsonNode drift = findings.get("sysctl_drift net.core.somaxconn");
    assertThat(drift.get("value").asText()).isEqualTo("128");
    assertThat(drift.get("recommended").asText()).isEqualTo("4096");

    JsonNode somaxconn = null;
    for (JsonNode s : h.get("sysctls")) {
      if (s.get("name").asText().equals("net.core.somaxconn")) somaxconn = s;
    }
    assertThat(somaxconn).isNotNull();
    assertThat(somaxconn.get("value").asText()).isEqualTo("128");
    assertThat(somaxconn.get("fleet_majority").asText()).isEqualTo("4096");
    List<String> marks = new ArrayList<>();
    somaxconn.get("findings").forEach(f -> marks.add(f.get("finding").asText()));
    assertThat(marks).containsExactlyInAnyOrder("low_somaxconn", "sysctl_drift");

    JsonNode healthy = get("hosts/api-1", "HostDetail");
    assertThat(healthy.get("sysctl_findings")).isEmpty();
    for (JsonNode s : healthy.get("sysctls")) assertThat(s.has("fleet_majority")).isFalse();
  }

  @Test
  void alertsAndDriftAnswerFromTheDetector() throws Exception {
    JsonNode alerts = get("alerts", "Alerts");
    List<String> names = new ArrayList<>();
    alerts
        .get("alerts")
        .forEach(a -> names.add(a.get("host").asText() + " " + a.get("alertname").asText()));
    assertThat(names)
        .containsExactlyInAnyOrder(
            "web-cw CloseWaitGrowing",
            "batch-fd ProcessFileDescriptorsRunningOut",
            "queue-w ProcessFileDescriptorsRunningOut");
    assertThat(alerts.get("total").asInt()).isEqualTo(3);
    JsonNode fd = get("alerts?host=batch-fd", "Alerts").at("/alerts/0");
    assertThat(fd.at("/labels/pid").asText()).isEqualTo("5150");
    assertThat(fd.at("/labels/comm").asText()).isEqualTo("worker");
    assertThat(fd.get("severity").asText()).isEqualTo("critical");
    assertThat(fd.at("/annotations/runbook_url").asText())
        .isEqualTo("http://127.0.0.1:" + APP.getLocalPort() + "/runbook#process_fds");

    JsonNode drift = get("sysctl-drift", "SysctlDriftList");
    assertThat(drift.get("sysctls")).hasSize(1);
    JsonNode s = drift.at("/sysctls/0");
    assertThat(s.get("name").asText()).isEqualTo("net.core.somaxconn");
    assertThat(s.get("majority_value").asText()).isEqualTo("4096");
    assertThat(s.get("hosts_with_majority").asInt()).isEqualTo(5);
    assertThat(s.get("hosts_reporting").asInt()).isEqualTo(6);
    assertThat(s.at("/differing/0/host").asText()).isEqualTo(DetectedFleet.ODD_HOST);
    assertThat(s.at("/differing/0/value").asText()).isEqualTo("128");
    // Only db-odd reports tcp_tw_recycle: no fleet to drift from, a finding all the same.
    assertThat(get("sysctl-drift?name=net.ipv4.tcp_tw_recycle", "SysctlDriftList").get("sysctls"))
        .isEmpty();
  }
}
