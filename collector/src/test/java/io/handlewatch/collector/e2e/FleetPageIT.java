package io.handlewatch.collector.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dropwizard.testing.ConfigOverride;
import io.dropwizard.testing.ResourceHelpers;
import io.dropwizard.testing.junit5.DropwizardAppExtension;
import io.dropwizard.testing.junit5.DropwizardExtensionsSupport;
import io.handlewatch.collector.CollectorApplication;
import io.handlewatch.collector.CollectorConfiguration;
import io.handlewatch.collector.testing.HeadlessChromium;
import io.handlewatch.collector.testing.IngestClient;
import io.handlewatch.collector.testing.TestFleet;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.ProcessIdentity;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The fleet page in a real headless Chromium against a running collector (memory store) fed over
 * gRPC: it lists the hosts the collector knows, most at risk first and coloured by status, picks up
 * a new host by itself, sorts on a header click, and a click on a host opens its view whose charts
 * draw the host's history; a host whose alert outlives its verdict shows the alert's severity.
 * Screenshots go to {@code target/screenshots/}.
 */
@ExtendWith(DropwizardExtensionsSupport.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetPageIT {
  static final DropwizardAppExtension<CollectorConfiguration> APP =
      new DropwizardAppExtension<>(
          CollectorApplication.class,
          ResourceHelpers.resourceFilePath("test-memory.yml"),
          // Fresh hosts stay fresh for 100 intervals (16 min) however slow the machine is; the
          // stale one last reported two hours ago.
          ConfigOverride.config("api.staleAfterIntervals", "100"));
  static final Path SCREENSHOTS = Path.of("target", "screenshots");
  static final Duration WAIT = Duration.ofSeconds(45);

  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newHttpClient();

  static HeadlessChromium chromium;

  /** Half an hour of reports, every 10 s; CLOSE_WAIT of api-a leaks 1 per report. */
  static List<HostReport> history(String host, Instant end, long cw0, long leak, long fds) {
    List<HostReport> out = new ArrayList<>();
    for (int i = 0; i < 180; i++) {
      long cw = cw0 + leak * i;
      out.add(
          TestFleet.report(
              host, i + 1, end.minusSeconds(10L * (179 - i)), cw, 100 + (i % 7) * 10, fds + cw));
    }
    return out;
  }

  @BeforeAll
  static void fleet() throws Exception {
    int port = APP.<CollectorApplication>getApplication().ingest().port();
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    // api-a also reports its kernel tables: conntrack, and nginx's accept queue filling up.
    IngestClient.stream(
        port,
        history("api-a", now, 10, 1, 200).stream()
            .map(io.handlewatch.collector.testing.TestReports::withKernelTables)
            // The host's own conntrack only: these reports count no namespaces.
            .map(
                r ->
                    r.toBuilder()
                        .setSample(
                            r.getSample().toBuilder()
                                .setTcp(r.getSample().getTcp().toBuilder().clearNamespaces()))
                        .build())
            .toList());
    IngestClient.stream(port, history("api-b", now, 3, 0, 100));
    IngestClient.stream(port, history("cache-c", now.minus(Duration.ofHours(2)), 0, 0, 500));
    IngestClient.stream(port, history("db-d", now, 40, 0, 50));
    chromium = HeadlessChromium.start();
  }

  @AfterAll
  static void quit() throws Exception {
    if (chromium != null) chromium.close();
  }

  private static String base() {
    return "http://127.0.0.1:" + APP.getLocalPort() + "/";
  }

  private static WebDriverWait waiting(WebDriver d) {
    return new WebDriverWait(d, WAIT, Duration.ofMillis(100));
  }

  /**
   * Reads the page in one script, so a refresh that re-renders the table between two WebDriver
   * calls cannot leave a stale element in our hands.
   */
  @SuppressWarnings("unchecked")
  private static <T> T read(WebDriver d, String script) {
    return (T) ((JavascriptExecutor) d).executeScript(script);
  }

  private static List<String> rows(WebDriver d) {
    return read(
        d,
        "return [...document.querySelectorAll('#fleet-table tbody tr[data-host]')]"
            + ".map(r => r.dataset.host)");
  }

  /** Clicks what {@code css} selects, again if a refresh replaced it under the click. */
  private static void click(WebDriver d, String css) {
    waiting(d)
        .ignoring(StaleElementReferenceException.class)
        .until(
            x -> {
              x.findElement(By.cssSelector(css)).click();
              return true;
            });
  }

  /** Per chart: points, the first path's segments and width, the chart's width, all labels. */
  private static Map<String, Map<String, Object>> charts(WebDriver d) {
    return read(
        d,
        """
        const out = {};
        for (const c of document.querySelectorAll('svg.chart')) {
          const paths = [...c.querySelectorAll('path.series')];
          out[c.dataset.metric] = {
            points: Number(c.dataset.points),
            d: paths.length ? paths[0].getAttribute('d') : '',
            pathWidth: paths.length ? paths[0].getBoundingClientRect().width : 0,
            chartWidth: c.getBoundingClientRect().width,
            labels: paths.map(p => p.dataset.label),
          };
        }
        return out;
        """);
  }

  @Test
  @Order(1) // counts the hosts; the test below adds one
  void theFleetThenAHostAndItsCharts() throws Exception {
    WebDriver d = chromium.driver();
    d.get(base());
    waiting(d).until(x -> rows(x).size() == 4);
    // Most at risk first: the detector pages api-a's CLOSE_WAIT leak (critical), then the stale
    // host, then by fd usage.
    assertThat(rows(d)).containsExactly("api-a", "cache-c", "api-b", "db-d");
    Map<String, String> badges =
        read(
            d,
            """
            const b = (h) => document.querySelector(`tr[data-host='${h}'] .status`);
            return {stale: b('cache-c').textContent, ok: b('api-b').textContent,
                    staleColour: getComputedStyle(b('cache-c')).backgroundColor,
                    okColour: getComputedStyle(b('api-b')).backgroundColor,
                    critical: b('api-a').textContent,
                    criticalColour: getComputedStyle(b('api-a')).backgroundColor,
                    counts: document.getElementById('counts').textContent};
            """);
    assertThat(badges.get("stale")).isEqualTo("stale");
    assertThat(badges.get("ok")).isEqualTo("ok");
    assertThat(badges.get("critical")).isEqualTo("critical");
    assertThat(badges.get("staleColour")).as("status colours").isNotEqualTo(badges.get("okColour"));
    assertThat(badges.get("criticalColour"))
        .as("status colours")
        .isNotIn(badges.get("okColour"), badges.get("staleColour"));
    assertThat(badges.get("counts")).contains("2 ok").contains("1 stale").contains("1 critical");
    chromium.screenshot(SCREENSHOTS.resolve("fleet.png"));

    // The table refreshes by itself: a host that reports now appears without a reload.
    // It runs a newer agent than the others, whose reports predate agent versions: a
    // half-finished rollout shows in the Agent column.
    IngestClient.stream(
        APP.<CollectorApplication>getApplication().ingest().port(),
        history("edge-new", Instant.now().truncatedTo(ChronoUnit.SECONDS), 1, 0, 10).stream()
            .map(
                r -> {
                  HostReport.Builder b = r.toBuilder();
                  b.getSampleBuilder()
                      .getHostBuilder()
                      .setAgentVersion("0.2.0")
                      .setAgentCommit("0123456789ab");
                  return b.build();
                })
            .toList());
    waiting(d).until(x -> rows(x).contains("edge-new"));
    Map<String, String> agents =
        read(
            d,
            """
            const a = (h) => document.querySelector(`tr[data-host='${h}'] .agent-version`);
            return {edge: a('edge-new').textContent, edgeTitle: a('edge-new').title,
                    old: a('api-b').textContent};
            """);
    assertThat(agents)
        .containsEntry("edge", "0.2.0")
        .containsEntry("edgeTitle", "commit 0123456789ab")
        .containsEntry("old", "–");

    // A click on a header sorts by it: most CLOSE_WAIT first.
    click(d, "#fleet-table th[data-sort='close_wait']");
    // Awaits the sorted order itself: api-a also leads the order by risk, so "api-a first" alone
    // could be met by the table before the click re-rendered it (seen on a loaded machine).
    waiting(d)
        .until(x -> rows(x).size() == 5 && rows(x).subList(0, 2).equals(List.of("api-a", "db-d")));
    assertThat(rows(d)).startsWith("api-a", "db-d");

    // A click on a host opens its view, and its charts draw its history.
    click(d, "tr[data-host='api-a'] td:nth-child(3)");
    waiting(d).until(x -> x.getCurrentUrl().endsWith("#/host/api-a"));
    waiting(d).until(x -> charts(x).size() == 4);
    assertThat(d.findElement(By.id("host-name")).getText()).isEqualTo("api-a");
    Map<String, Map<String, Object>> charts = charts(d);
    for (String metric :
        List.of("tcp.close_wait", "tcp.time_wait", "tcp.established", "fd.used_ratio")) {
      Map<String, Object> chart = charts.get(metric);
      assertThat(((Number) chart.get("points")).intValue())
          .as("%s points", metric)
          .isGreaterThan(50);
      assertThat(((String) chart.get("d")).split("L").length)
          .as("%s segments", metric)
          .isGreaterThan(50);
      // Half an hour of history in the default one-hour range: about half the plot's width.
      assertThat(((Number) chart.get("pathWidth")).doubleValue())
          .as("%s drawn over its half hour", metric)
          .isGreaterThan(((Number) chart.get("chartWidth")).doubleValue() * 2 / 5);
    }
    // CLOSE_WAIT leaks: the line climbs (SVG y grows downwards).
    List<Double> ys = yValues((String) charts.get("tcp.close_wait").get("d"));
    assertThat(ys.getLast())
        .as("the last point is higher than the first")
        .isLessThan(ys.getFirst());
    // fd usage: system-wide plus the top processes, one line each.
    assertThat((List<String>) charts.get("fd.used_ratio").get("labels"))
        .contains("system (file-nr of file-max)", "java (4242) of its soft limit");

    String host =
        read(
            d,
            "return document.querySelector(\"#process-table tr[data-pid='4242']\").textContent"
                + " + '|' + document.getElementById('verdicts').textContent"
                + " + '|' + document.getElementById('sysctl-table').textContent"
                + " + '|' + document.getElementById('owners').textContent"
                + " + '|' + document.getElementById('namespaces').textContent"
                + " + '|' + document.getElementById('tables').textContent");
    assertThat(host)
        .contains("java")
        .contains("10.0.0.9:8080 ×189")
        .as("the verdict names the process, the remote endpoint, the rate and since when")
        .containsPattern("critical\\s*close_wait\\s*java\\[4242\\]")
        .contains("CLOSE_WAIT sockets to 10.0.0.9:8080, +6.0/min since")
        .contains("net.core.somaxconn")
        .as("processes grouped by owner; these reports name none, so all are the host's")
        .containsPattern("host\\s*–\\s*\\d+\\s*[\\d,]+\\s*189\\s*4242")
        .contains("The agent counted its own network namespace only.")
        .as("the kernel tables: use against limit, and the accept queue's verdict")
        .containsPattern("conntrack entries\\s*api-a\\s*1,800\\s*262,144\\s*0\\.7 %")
        .containsPattern("accept queue\\s*nginx\\[812\\] 0\\.0\\.0\\.0:443\\s*180\\s*128")
        .containsPattern("accept queue\\s*java\\[901\\] 0\\.0\\.0\\.0:8080\\s*7\\s*50\\s*14 %")
        .as("the SYN queue's requests against its cap, the backlog with syncookies on")
        .containsPattern(
            "SYN queue \\(SYN_RECV\\)\\s*nginx\\[812\\] 0\\.0\\.0\\.0:443\\s*2\\s*128");
    String nginxRow =
        read(
            d,
            "return document.querySelector(\"#tables-table tr[data-subject='nginx[812]"
                + " 0.0.0.0:443']\").className");
    assertThat(nginxRow)
        .as("nginx's saturated accept queue is judged critical")
        .isEqualTo("critical");
    chromium.screenshot(SCREENSHOTS.resolve("host.png"));
    // The legend's colour swatches are styles the script sets: the CSP let them through.
    String swatch =
        read(d, "return getComputedStyle(document.querySelector('.legend i')).backgroundColor");
    assertThat(swatch).isNotIn("rgba(0, 0, 0, 0)", "transparent", "");
    assertThat(chromium.contentSecurityPolicyViolations())
        .as("the page runs under its own Content-Security-Policy")
        .isEmpty();

    // Back to the fleet.
    click(d, "a[href='#/']:not(.brand)");
    waiting(d).until(x -> x.findElement(By.id("fleet-view")).isDisplayed());
  }

  /**
   * The page agrees with the pager: api-gone leaks CLOSE_WAIT until it pages critical, then its
   * sockets are released, one report at a time. Its verdict clears at once, while its alert keeps
   * firing through the quiet period; at every step the API's status is the firing alert's severity
   * (never ok), and once the verdict has cleared the fleet table and the host view, opened through
   * its #/host/ link, both show it critical.
   */
  @Test
  @Order(2)
  void aHostWhoseVerdictClearedWhileItsAlertFiresShowsTheAlertsSeverity() throws Exception {
    String host = "api-gone";
    CollectorApplication app = APP.getApplication();
    int port = app.ingest().port();
    // 25 minutes of a leak of one CLOSE_WAIT per report, until 30 s ago; the release's reports
    // follow every 10 s from there (at most 2.5 min ahead of the clock, within the ingest's skew),
    // so no sweep of the detector's clock can resolve the alert before the reports say so.
    Instant released = Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(30);
    List<HostReport> leak = new ArrayList<>();
    for (int i = 0; i < 150; i++) {
      leak.add(
          TestFleet.report(
              host, i + 1, released.minusSeconds(10L * (150 - i)), 5L + i, 100, 100L + i));
    }
    IngestClient.stream(port, leak);
    await("the leak pages")
        .atMost(WAIT)
        .until(() -> firingSeverity(host), s -> "critical".equals(s));

    boolean seen = false;
    for (int k = 0; k <= 18 && !seen; k++) {
      Instant t = released.plusSeconds(10L * k);
      IngestClient.stream(port, List.of(TestFleet.report(host, 151 + k, t, 5L, 100, 100L)));
      await("the detector judged the report at " + t)
          .atMost(WAIT)
          .until(
              () ->
                  app.detector()
                      .view()
                      .host(host)
                      .map(v -> !v.evaluatedAt().isBefore(t))
                      .orElse(false));
      JsonNode h = api("hosts/" + host);
      String paged = worst(h.get("alerts"), "severity");
      String verdicts = worst(h.get("verdicts"), "severity");
      if (paged != null) {
        assertThat(h.get("status").asText())
            .as("status at %s with %s firing and verdicts at %s", t, paged, verdicts)
            .isEqualTo(worstOf(paged, verdicts));
        assertThat(fleetStatus(host))
            .as("the listing at %s", t)
            .isEqualTo(h.get("status").asText());
      }
      seen = "critical".equals(paged) && !"critical".equals(verdicts);
    }
    assertThat(seen)
        .as("a step where the verdict had cleared while the critical alert still fired")
        .isTrue();

    WebDriver d = chromium.driver();
    d.get(base());
    waiting(d)
        .until(
            x ->
                "critical"
                    .equals(
                        read(
                            x,
                            "const b = document.querySelector(\"tr[data-host='api-gone'] .status\");"
                                + " return b ? b.textContent : null;")));
    chromium.screenshot(SCREENSHOTS.resolve("fleet-alert-outlives-verdict.png"));
    d.get(base() + "#/host/" + host);
    waiting(d)
        .until(
            x ->
                x.findElement(By.id("host-view")).isDisplayed()
                    && host.equals(x.findElement(By.id("host-name")).getText()));
    waiting(d).until(x -> x.findElement(By.id("alerts")).getText().contains("CloseWaitGrowing"));
    assertThat(d.findElement(By.id("host-status")).getText()).isEqualTo("critical");
    assertThat((Long) read(d, "return document.querySelectorAll('#verdicts tr.critical').length;"))
        .as("no critical verdict any more")
        .isZero();
    chromium.screenshot(SCREENSHOTS.resolve("host-alert-outlives-verdict.png"));
  }

  /**
   * The fleet's filters by Kubernetes namespace, pod, systemd unit and host label: a link carrying
   * them opens the fleet filtered, typing into them narrows the table and rewrites the link, they
   * survive a visit to a host, and a malformed label gets the API's own explanation.
   */
  @Test
  @Order(3)
  void theFleetFiltersByNamespacePodUnitAndLabelAndKeepsThemInTheLink() throws Exception {
    int port = APP.<CollectorApplication>getApplication().ingest().port();
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    IngestClient.stream(
        port,
        owned(
            "k8s-pay",
            now,
            Map.of("env", "prod", "cluster", "eu1"),
            ProcessIdentity.newBuilder()
                .setCgroup("/kubepods/burstable/podaa/cid")
                .setPodNamespace("payments")
                .setPodName("checkout-7d9f")
                .setContainerName("app")));
    IngestClient.stream(
        port,
        owned(
            "k8s-web",
            now,
            Map.of("env", "staging"),
            ProcessIdentity.newBuilder()
                .setCgroup("/kubepods/besteffort/podbb/cid")
                .setPodNamespace("web")
                .setPodName("front-1")
                .setContainerName("nginx")));
    IngestClient.stream(
        port,
        owned(
            "vm-db",
            now,
            Map.of("env", "prod"),
            ProcessIdentity.newBuilder()
                .setCgroup("/system.slice/postgresql.service")
                .setSystemdUnit("postgresql.service")));

    WebDriver d = chromium.driver();
    // A shared link opens the fleet filtered, its filter in the input.
    d.get(base() + "#/?namespace=payments");
    waiting(d).until(x -> rows(x).equals(List.of("k8s-pay")));
    assertThat(inputs(d)).containsEntry("namespace-filter", "payments");

    // Typing a label narrows by both (every filter must match) and the link follows.
    d.findElement(By.id("label-filter")).sendKeys("env=prod");
    waiting(d).until(x -> x.getCurrentUrl().contains("label=env%3Dprod"));
    assertThat(d.getCurrentUrl()).endsWith("#/?namespace=payments&label=env%3Dprod");
    assertThat(rows(d)).containsExactly("k8s-pay");
    // Without the namespace, every host labelled env=prod: the pod's and the VM's, not staging.
    read(
        d,
        "const i = document.getElementById('namespace-filter'); i.value = '';"
            + " i.dispatchEvent(new Event('input')); return null;");
    waiting(d).until(x -> x.getCurrentUrl().endsWith("#/?label=env%3Dprod"));
    waiting(d).until(x -> rows(x).size() == 2);
    assertThat(rows(d)).containsExactlyInAnyOrder("k8s-pay", "vm-db");

    // By systemd unit, with the label, from a link.
    d.get(base() + "#/?unit=postgresql.service&label=env%3Dprod");
    waiting(d).until(x -> rows(x).equals(List.of("vm-db")));
    assertThat(inputs(d))
        .containsEntry("unit-filter", "postgresql.service")
        .containsEntry("label-filter", "env=prod")
        .containsEntry("namespace-filter", "");

    // By pod; a visit to the host and back keeps the filter.
    d.get(base() + "#/?pod=front-1");
    waiting(d).until(x -> rows(x).equals(List.of("k8s-web")));
    click(d, "tr[data-host='k8s-web'] a");
    waiting(d).until(x -> x.getCurrentUrl().endsWith("#/host/k8s-web"));
    waiting(d).until(x -> "k8s-web".equals(x.findElement(By.id("host-name")).getText()));
    click(d, "#back-to-fleet");
    waiting(d).until(x -> x.getCurrentUrl().endsWith("#/?pod=front-1"));
    waiting(d).until(x -> x.findElement(By.id("fleet-view")).isDisplayed());
    waiting(d).until(x -> rows(x).equals(List.of("k8s-web")));
    chromium.screenshot(SCREENSHOTS.resolve("fleet-filtered.png"));

    // Nothing matches: the table says so rather than claiming an empty fleet.
    d.get(base() + "#/?namespace=no-such-namespace");
    waiting(d)
        .until(
            x ->
                x.findElement(By.cssSelector("#fleet-table td.empty"))
                    .getText()
                    .equals("No host matches these filters."));
    assertThat(rows(d)).isEmpty();

    // A label without a value: the API refuses it and the page shows why.
    read(
        d,
        "const i = document.getElementById('namespace-filter'); i.value = '';"
            + " i.dispatchEvent(new Event('input')); return null;");
    d.findElement(By.id("label-filter")).sendKeys("env");
    waiting(d)
        .until(x -> x.findElement(By.id("error")).getText().contains("label takes KEY=VALUE"));
    assertThat(chromium.contentSecurityPolicyViolations()).isEmpty();
  }

  /** Three reports of a host with these labels whose java process has this owner. */
  private static List<HostReport> owned(
      String host, Instant now, Map<String, String> labels, ProcessIdentity.Builder owner) {
    List<HostReport> out = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      HostReport.Builder b =
          TestFleet.report(host, i + 1, now.minusSeconds(10L * (2 - i)), 2L, 10, 100).toBuilder();
      b.getSampleBuilder().getHostBuilder().putAllLabels(labels);
      b.getSampleBuilder().getProcessesBuilder(0).setIdentity(owner);
      out.add(b.build());
    }
    return out;
  }

  private static Map<String, String> inputs(WebDriver d) {
    return read(
        d,
        "const o = {}; for (const i of document.querySelectorAll('#fleet-view input'))"
            + " o[i.id] = i.value; return o;");
  }

  /** The worst severity of the firing alerts of {@code host}, from the API; null when none. */
  private static String firingSeverity(String host) throws Exception {
    return worst(api("alerts?host=" + host).get("alerts"), "severity");
  }

  private static String fleetStatus(String host) throws Exception {
    for (JsonNode h : api("hosts?q=" + host).get("hosts")) {
      if (h.get("host").asText().equals(host)) return h.get("status").asText();
    }
    throw new AssertionError("no " + host + " in the listing");
  }

  private static final List<String> SEVERITIES = List.of("info", "warning", "critical");

  /** The worst of the {@code field} values of {@code items} (info < warning < critical). */
  private static String worst(JsonNode items, String field) {
    String worst = null;
    for (JsonNode i : items) worst = worstOf(worst, i.path(field).asText());
    return worst;
  }

  private static String worstOf(String a, String b) {
    if (a == null) return b;
    if (b == null) return a;
    return SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b;
  }

  private static JsonNode api(String pathAndQuery) throws Exception {
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base() + "api/v1/" + pathAndQuery)).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("%s: %s", pathAndQuery, r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static List<Double> yValues(String d) {
    List<Double> ys = new ArrayList<>();
    Matcher m = Pattern.compile("[ML]([\\d.]+) ([\\d.]+)").matcher(d);
    while (m.find()) ys.add(Double.parseDouble(m.group(2)));
    return ys;
  }
}
