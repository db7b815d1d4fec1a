package io.handlewatch.collector.dashboards;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.handlewatch.collector.detect.DetectionFactory;
import io.handlewatch.collector.detect.DetectionRunner;
import io.handlewatch.collector.store.ListeningStore;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.influx.InfluxStoreFactory;
import io.handlewatch.collector.testing.DetectedFleet;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.TestFleet;
import io.handlewatch.proto.v1.HostReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every query of every Grafana dashboard under {@code dashboards/} (panels and template variables),
 * with Grafana's macros substituted as Grafana does, returns data from a real influxd filled
 * through the collector's InfluxDB store; the verdict points are the real detector's, judging
 * {@link DetectedFleet} (leaks, a warning, odd sysctls) on the same store, and they follow
 * docs/storage-schema.md. Also checks the provisioning files point where the dashboards expect.
 */
class DashboardQueriesIT {
  static final Path DASHBOARDS = Path.of("..", "dashboards");
  static final String DB = "handlewatch";
  static final ObjectMapper JSON = new ObjectMapper();
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** The host the drilldown is opened on, and the sysctl the drift table is set to. */
  static final Map<String, String> VARIABLES =
      Map.of("host", DetectedFleet.CLOSE_WAIT_HOST, "sysctl", "net.core.somaxconn");

  static InfluxdHarness influxd;
  static Instant from;
  static Instant to;

  @BeforeAll
  static void fill() throws Exception {
    influxd = InfluxdHarness.start();
    InfluxStoreFactory f = new InfluxStoreFactory();
    f.url = influxd.url();
    f.database = DB;
    f.flushInterval = io.dropwizard.util.Duration.milliseconds(20);
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    to = now;
    from = now.minus(1, ChronoUnit.HOURS);
    try (SampleStore store = f.build(new MetricRegistry())) {
      // Half an hour of the test fleet's reports, every 30 s, through the collector's store.
      Object[][] hosts = {
        {"api-a", 50L, 10L, 900L}, {"api-b", 5L, 500L, 100L}, {"db-d", 1L, 20L, 300L}
      };
      for (Object[] h : hosts) {
        for (int i = 0; i < 60; i++) {
          HostReport r =
              TestFleet.report(
                  (String) h[0],
                  i + 1,
                  now.minusSeconds(5 + 30L * (59 - i)),
                  (Long) h[1] + i,
                  (Long) h[2],
                  (Long) h[3] + i);
          assertThat(store.write(r).get(30, TimeUnit.SECONDS).pointsDropped()).isZero();
        }
      }
      // The kernel tables of the drilldown's host, every 30 s for ten minutes (the detected fleet's
      // reports below do not carry them): only these measurements, its other series stay as they
      // are.
      for (int i = 0; i < 20; i++) {
        HostReport tables =
            io.handlewatch.collector.testing.TestReports.withKernelTables(
                TestFleet.report(
                    DetectedFleet.CLOSE_WAIT_HOST,
                    1,
                    now.minusSeconds(7 + 30L * (19 - i)),
                    0L,
                    0,
                    0));
        var s =
            io.handlewatch.proto.v1.HostSample.newBuilder()
                .setTime(tables.getSample().getTime())
                .setHost(tables.getSample().getHost())
                .setConntrack(tables.getSample().getConntrack())
                .setTcpCounters(
                    tables.getSample().getTcpCounters().toBuilder()
                        .setListenOverflows(100 + 7L * i))
                .setListenQueues(tables.getSample().getListenQueues())
                .setSockstat(
                    io.handlewatch.proto.v1.Sockstat.newBuilder()
                        .setTcpOrphan(10 + i)
                        .setTcpMemPages(4000 + 10L * i))
                .addSysctls(
                    io.handlewatch.proto.v1.Sysctl.newBuilder()
                        .setName("net.ipv4.tcp_max_orphans")
                        .setValue("65536"));
        HostReport r = HostReport.newBuilder().setSeq(1000 + i).setSample(s).build();
        assertThat(store.write(r).get(30, TimeUnit.SECONDS).pointsDropped()).isZero();
      }
      // The detected fleet through the store and the real detector, as the collector wires them:
      // the verdict points the panels read are the ones the detector writes.
      DetectionRunner detector =
          new DetectionRunner(
              new DetectionFactory(), store, new MetricRegistry(), Clock.systemUTC());
      // Alert transitions as the collector keeps them for the host dashboard's annotations.
      detector.addAlertListener(
          a -> {
            try {
              store
                  .writePoints(List.of(io.handlewatch.collector.AlertAnnotations.point(a)))
                  .get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          });
      detector.start();
      try {
        SampleStore listening = new ListeningStore(store, detector);
        for (List<HostReport> reports : DetectedFleet.reports(now).values()) {
          for (HostReport r : reports) {
            assertThat(listening.write(r).get(30, TimeUnit.SECONDS).pointsDropped()).isZero();
          }
        }
        // Every host judged on its last report, and the verdict points of that judgement stored.
        DetectedFleet.awaitJudged(detector.view(), now);
        await("the detector's verdict points")
            .atMost(Duration.ofSeconds(60))
            .until(() -> verdictHosts().containsAll(LEAKING));
      } finally {
        detector.stop();
      }
    }
  }

  /** The hosts the detector judged at risk. */
  static final List<String> LEAKING =
      List.of(DetectedFleet.CLOSE_WAIT_HOST, DetectedFleet.FD_HOST, DetectedFleet.WARNING_HOST);

  /** Hosts with a verdict point in the last hour. */
  static List<String> verdictHosts() throws Exception {
    List<String> out = new ArrayList<>();
    JsonNode r =
        JSON.readTree(
            influxd.query(
                DB,
                "SELECT last(\"eta_seconds\") FROM \"verdict\" WHERE time > now() - 1h"
                    + " GROUP BY \"host\""));
    for (JsonNode series : r.at("/results/0/series")) out.add(series.at("/tags/host").asText());
    return out;
  }

  @AfterAll
  static void stop() throws Exception {
    if (influxd != null) influxd.close();
  }

  static List<Path> dashboards() throws Exception {
    try (Stream<Path> files = Files.list(DASHBOARDS)) {
      List<Path> out = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
      assertThat(out).as("dashboards in %s", DASHBOARDS.toAbsolutePath()).hasSizeGreaterThan(1);
      return out;
    }
  }

  /** Every panel, those inside collapsed rows included. */
  private static List<JsonNode> panels(JsonNode dashboard) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode p : dashboard.path("panels")) {
      if (p.path("type").asText().equals("row")) {
        p.path("panels").forEach(out::add);
      } else {
        out.add(p);
      }
    }
    return out;
  }

  /** Grafana's InfluxQL interpolation: macros, and variables regex-escaped (used in =~ /.../). */
  static String interpolate(String query) {
    String q =
        query
            .replace(
                "$timeFilter",
                "time >= " + from.toEpochMilli() + "ms and time <= " + to.toEpochMilli() + "ms")
            .replace("$__interval", "1m");
    for (var v : VARIABLES.entrySet()) {
      String escaped = v.getValue().replaceAll("([\\\\.*+?^${}()|\\[\\]/])", "\\\\$1");
      q = q.replace("${" + v.getKey() + "}", escaped).replace("$" + v.getKey(), escaped);
    }
    return q;
  }

  /** The rows of every series a query returned, failing on an InfluxQL error. */
  private static List<JsonNode> run(String query) throws Exception {
    JsonNode result = JSON.readTree(influxd.query(DB, query)).path("results").path(0);
    assertThat(result.path("error").asText()).as("error of %s", query).isEmpty();
    List<JsonNode> rows = new ArrayList<>();
    for (JsonNode series : result.path("series")) series.path("values").forEach(rows::add);
    return rows;
  }

  private static boolean hasValue(JsonNode row) {
    for (int i = 1; i < row.size(); i++) if (!row.get(i).isNull()) return true;
    return false;
  }

  @ParameterizedTest
  @MethodSource("dashboards")
  void everyPanelQueryReturnsData(Path file) throws Exception {
    JsonNode dashboard = JSON.readTree(file.toFile());
    List<JsonNode> panels = panels(dashboard);
    assertThat(panels).as("panels of %s", file).isNotEmpty();
    Map<String, Integer> rowsPerPanel = new LinkedHashMap<>();
    for (JsonNode panel : panels) {
      String title = panel.path("title").asText();
      assertThat(panel.at("/datasource/uid").asText())
          .as("%s: datasource", title)
          .isEqualTo("${datasource}");
      assertThat(panel.path("targets")).as("%s: queries", title).isNotEmpty();
      for (JsonNode target : panel.path("targets")) {
        assertThat(target.path("rawQuery").asBoolean()).as("%s: raw InfluxQL", title).isTrue();
        String query = interpolate(target.path("query").asText());
        assertThat(query)
            .as("%s: every variable substituted", title)
            .doesNotContainPattern("\\$(\\w|\\{)");
        List<JsonNode> rows = run(query);
        assertThat(rows.stream().anyMatch(DashboardQueriesIT::hasValue))
            .as("%s (%s) returns data: %s", title, target.path("refId").asText(), query)
            .isTrue();
        rowsPerPanel.merge(title, rows.size(), Integer::sum);
      }
    }
    System.out.printf(
        "%s: %d panels, rows per panel %s%n", file.getFileName(), panels.size(), rowsPerPanel);
  }

  /** The first query of the panel titled {@code title} in {@code file}, interpolated. */
  private static String queryOf(String file, String title) throws Exception {
    for (JsonNode p : panels(JSON.readTree(DASHBOARDS.resolve(file).toFile()))) {
      if (p.path("title").asText().equals(title)) {
        return interpolate(p.at("/targets/0/query").asText());
      }
    }
    throw new AssertionError("no panel " + title + " in " + file);
  }

  @Test
  void statPanelsShowZeroAndVerdictCountsAreOfNow() throws Exception {
    JsonNode fleet = JSON.readTree(DASHBOARDS.resolve("fleet-overview.json").toFile());
    int stats = 0;
    for (JsonNode p : panels(fleet)) {
      if (!p.path("type").asText().equals("stat")) continue;
      stats++;
      assertThat(p.at("/fieldConfig/defaults/noValue").asText())
          .as("%s with no data", p.path("title").asText())
          .isEqualTo("0");
    }
    assertThat(stats).isGreaterThan(3);
    for (String title : List.of("Critical verdicts", "Warning verdicts")) {
      String q = queryOf("fleet-overview.json", title);
      assertThat(q).as(title).contains("time > now() - 5m").doesNotContain("$timeFilter");
    }
    // What stands now in the detected fleet: web-cw and batch-fd critical.
    assertThat(run(queryOf("fleet-overview.json", "Critical verdicts")).getFirst().get(1).asInt())
        .isEqualTo(2);
  }

  @Test
  void theHostDashboardAnnotatesAlertTransitionsAndFindings() throws Exception {
    JsonNode host = JSON.readTree(DASHBOARDS.resolve("host-drilldown.json").toFile());
    Map<String, String> queries = new LinkedHashMap<>();
    for (JsonNode a : host.at("/annotations/list")) {
      queries.put(a.path("name").asText(), a.path("query").asText());
      assertThat(a.at("/datasource/uid").asText()).isEqualTo("${datasource}");
    }
    assertThat(queries).containsKeys("Alerts", "Verdicts cleared, findings");
    // The leaking host's page started: a firing transition with its summary.
    List<JsonNode> alerts = run(interpolate(queries.get("Alerts")));
    assertThat(alerts).as("alert annotations of %s", VARIABLES.get("host")).isNotEmpty();
    assertThat(alerts.toString()).contains("firing").contains("CLOSE_WAIT");
    // Findings (info) of the fleet's odd hosts: the same query on every host.
    String anyHost = queries.get("Verdicts cleared, findings").replace("/^$host$/", "/.*/");
    List<JsonNode> findings = run(interpolate(anyHost));
    assertThat(findings.toString()).contains("info");
  }

  @Test
  void keyPanelsAnswerWhatTheFleetHolds() throws Exception {
    String fleet = "fleet-overview.json";
    assertThat(run(queryOf(fleet, "Hosts reporting")).getFirst().get(1).asInt()).isEqualTo(9);
    assertThat(run(queryOf(fleet, "Critical verdicts")).getFirst().get(1).asInt()).isEqualTo(2);
    assertThat(run(queryOf(fleet, "Warning verdicts")).getFirst().get(1).asInt()).isEqualTo(1);
    // top(): [time, close_wait, host]; web-cw leaks 1/s for its last 15 minutes.
    List<JsonNode> top = run(queryOf(fleet, "CLOSE_WAIT: top 10 hosts"));
    JsonNode most = top.stream().max((a, b) -> a.get(1).asInt() - b.get(1).asInt()).orElseThrow();
    assertThat(most.get(2).asText()).isEqualTo(DetectedFleet.CLOSE_WAIT_HOST);
    assertThat(most.get(1).asInt()).isBetween(800, 1000);
    // db-d and db-odd have somaxconn 128, the others 4096; only db-odd has tcp_tw_recycle.
    JsonNode drift =
        JSON.readTree(influxd.query(DB, queryOf(fleet, "Sysctl drift: values per sysctl")));
    Map<String, Integer> distinct = new LinkedHashMap<>();
    for (JsonNode series : drift.at("/results/0/series")) {
      distinct.put(series.at("/tags/name").asText(), series.at("/values/0/1").asInt());
    }
    assertThat(distinct).containsEntry("net.core.somaxconn", 2);
    assertThat(distinct).containsEntry("net.ipv4.tcp_tw_recycle", 1);

    // Hosts by ETA and status: one row per (host, kind, subject) with the detector's evidence.
    Map<String, JsonNode> byHost = new LinkedHashMap<>();
    JsonNode table = JSON.readTree(influxd.query(DB, queryOf(fleet, "Hosts by ETA and status")));
    for (JsonNode series : table.at("/results/0/series")) {
      if (series.at("/tags/kind").asText().equals("process_fds")) {
        byHost.put(series.at("/tags/host").asText(), series);
      }
    }
    JsonNode fd = byHost.get(DetectedFleet.FD_HOST);
    assertThat(fd).as("batch-fd's row in %s", table).isNotNull();
    assertThat(fd.at("/tags/subject").asText()).isEqualTo("worker[5150]");
    List<String> columns = new ArrayList<>();
    fd.get("columns").forEach(c -> columns.add(c.asText()));
    JsonNode row = fd.at("/values/0");
    assertThat(row.get(columns.indexOf("severity")).asText()).isEqualTo("critical");
    assertThat(row.get(columns.indexOf("limit")).asDouble()).isEqualTo(20_000);
    assertThat(row.get(columns.indexOf("slope_per_min")).asDouble()).isCloseTo(300, within(30.0));

    String host = "host-drilldown.json";
    List<JsonNode> eta = run(queryOf(host, "Verdict ETA"));
    // web-cw's java: one more CLOSE_WAIT socket per second, each an fd (about 1,300 of 65,536: 18
    // h)
    // and a local port towards 10.0.0.7:6379 (about 1,000 of the 28,232 in the range): the ports
    // run out first, in about (28,232 - 1,000) / 60 min.
    assertThat(eta.getLast().get(1).asDouble())
        .as("ETA of web-cw's CLOSE_WAIT verdict")
        .isCloseTo(27_300, within(27_300 * 0.15));
  }

  /**
   * The detector's points have docs/storage-schema.md's tags and fields, each field with one fixed
   * type, plus {@code alert}: the open incident of a paging verdict (dedup key, labels, startsAt as
   * JSON), which a collector that gains the host reads to take the incident over
   * (docs/operations.md, Scale-out).
   */
  @Test
  void verdictPointsFollowTheStorageSchema() throws Exception {
    Map<String, String> fields = new LinkedHashMap<>();
    for (JsonNode row : run("SHOW FIELD KEYS FROM \"verdict\"")) {
      fields.put(row.get(0).asText(), row.get(1).asText());
    }
    assertThat(fields)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "severity", "string",
                "eta_seconds", "integer",
                "slope_per_min", "float",
                "value", "float",
                "limit", "float",
                "alert", "string"));
    List<String> tags = new ArrayList<>();
    for (JsonNode row : run("SHOW TAG KEYS FROM \"verdict\"")) tags.add(row.get(0).asText());
    assertThat(tags).containsExactlyInAnyOrder("host", "kind", "subject");
    List<String> severities = new ArrayList<>();
    for (JsonNode row : run("SELECT \"severity\" FROM \"verdict\" WHERE time > now() - 2h")) {
      severities.add(row.get(1).asText());
    }
    assertThat(severities).contains("critical", "warning", "info").doesNotContainNull();
  }

  @ParameterizedTest
  @MethodSource("dashboards")
  void templateVariablesListWhatThePanelsNeed(Path file) throws Exception {
    JsonNode dashboard = JSON.readTree(file.toFile());
    boolean datasourceVariable = false;
    for (JsonNode v : dashboard.at("/templating/list")) {
      String name = v.path("name").asText();
      if (v.path("type").asText().equals("datasource")) {
        assertThat(v.path("query").asText()).isEqualTo("influxdb");
        datasourceVariable = name.equals("datasource");
        continue;
      }
      assertThat(v.path("type").asText()).as("variable %s", name).isEqualTo("query");
      assertThat(VARIABLES).as("a value chosen for $%s", name).containsKey(name);
      List<String> values = new ArrayList<>();
      for (JsonNode row : run(interpolate(v.path("query").asText()))) {
        values.add(row.get(row.size() - 1).asText());
      }
      assertThat(values).as("$%s lists", name).contains(VARIABLES.get(name));
    }
    assertThat(datasourceVariable).as("a $datasource variable").isTrue();
  }

  @Test
  void provisioningPointsGrafanaAtTheDashboardsAndTheCollectorsDatabase() throws Exception {
    Path provisioning = DASHBOARDS.resolve("provisioning");
    List<JsonNode> sources = new ArrayList<>();
    try (Stream<Path> files = Files.list(provisioning.resolve("datasources"))) {
      for (Path p : files.filter(f -> f.toString().endsWith(".yml")).toList()) {
        YAML.readTree(p.toFile()).path("datasources").forEach(sources::add);
      }
    }
    assertThat(sources).hasSize(1);
    JsonNode ds = sources.getFirst();
    assertThat(ds.path("type").asText()).isEqualTo("influxdb");
    // Not the default: a Grafana that has one (Prometheus, say) keeps it.
    assertThat(ds.path("isDefault").asBoolean()).isFalse();
    // The database the collector's example InfluxDB configuration writes to by default.
    String collectorConfig = Files.readString(Path.of("config", "influxdb.yml"));
    var db =
        Pattern.compile("database: \\$\\{INFLUXDB_DATABASE:-([^}]+)}").matcher(collectorConfig);
    assertThat(db.find()).isTrue();
    assertThat(ds.at("/jsonData/dbName").asText()).isEqualTo(db.group(1));
    assertThat(ds.path("database").asText()).isEqualTo(db.group(1));

    List<JsonNode> providers = new ArrayList<>();
    try (Stream<Path> files = Files.list(provisioning.resolve("dashboards"))) {
      for (Path p : files.filter(f -> f.toString().endsWith(".yml")).toList()) {
        YAML.readTree(p.toFile()).path("providers").forEach(providers::add);
      }
    }
    assertThat(providers).hasSize(1);
    assertThat(providers.getFirst().path("type").asText()).isEqualTo("file");
    assertThat(providers.getFirst().at("/options/path").asText()).startsWith("/");

    // Dashboards link to each other by uid; each uid is unique.
    List<String> uids = new ArrayList<>();
    for (Path p : dashboards()) uids.add(JSON.readTree(p.toFile()).path("uid").asText());
    assertThat(uids).doesNotHaveDuplicates().contains("handlewatch-fleet", "handlewatch-host");
  }
}
