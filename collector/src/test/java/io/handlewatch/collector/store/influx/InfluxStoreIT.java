package io.handlewatch.collector.store.influx;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.SampleStoreContract;
import io.handlewatch.collector.store.TagValues;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.EndpointCount;
import io.handlewatch.proto.v1.HostReport;
import io.handlewatch.proto.v1.PortPressureEntry;
import io.handlewatch.proto.v1.Sysctl;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The shared store suite against a real influxd 1.6.7, plus what only InfluxDB can get wrong. */
class InfluxStoreIT extends SampleStoreContract {
  static InfluxdHarness influxd;

  @BeforeAll
  static void startInflux() throws Exception {
    influxd = InfluxdHarness.start();
  }

  @AfterAll
  static void stopInflux() throws Exception {
    influxd.close();
  }

  static InfluxStoreFactory config(String url, String database) {
    InfluxStoreFactory f = new InfluxStoreFactory();
    f.url = url;
    f.database = database;
    f.flushInterval = io.dropwizard.util.Duration.milliseconds(20);
    return f;
  }

  @Override
  protected SampleStore newStore() {
    return config(influxd.url(), "contract").build(new MetricRegistry());
  }

  @Test
  void verdictPointsLandAsTheSchemaSaysAndReadBackThroughInfluxQl() throws Exception {
    String db = "verdicts";
    SampleStore s = config(influxd.url(), db).build(new MetricRegistry());
    try {
      var tags =
          new java.util.TreeMap<>(
              java.util.Map.of("host", "db-17", "kind", "close_wait", "subject", "java[4121]"));
      java.util.Map<String, Object> fields = new java.util.LinkedHashMap<>();
      fields.put("severity", "critical");
      fields.put("eta_seconds", 6600L);
      fields.put("slope_per_min", 40.5);
      fields.put("value", 3812.0);
      fields.put("limit", 65536.0);
      var outcome =
          s.writePoints(
                  List.of(
                      new io.handlewatch.collector.store.StoredPoint("verdict", tags, fields, t0)))
              .get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(outcome.pointsWritten()).isEqualTo(1);

      String rows =
          influxd.query(
              db,
              "SELECT severity, eta_seconds, slope_per_min, value, \"limit\" FROM verdict"
                  + " WHERE host = 'db-17' AND kind = 'close_wait' AND subject = 'java[4121]'");
      assertThat(rows).contains("\"critical\"", "6600", "40.5", "3812", "65536");
      String keys = influxd.query(db, "SHOW FIELD KEYS FROM verdict");
      assertThat(keys)
          .contains("[\"eta_seconds\",\"integer\"]", "[\"severity\",\"string\"]")
          .contains("[\"slope_per_min\",\"float\"]");
    } finally {
      s.close();
    }
  }

  @Test
  void hostileProcessNamesCreateNoExtraMeasurementOrSeries() throws Exception {
    String db = "hostile";
    SampleStore s = config(influxd.url(), db).build(new MetricRegistry());
    try {
      List<String> names =
          List.of(
              "a b",
              "a,b",
              "k=v",
              "q\"uote",
              "back\\slash",
              "new\nline",
              "trail\\",
              "x\\ y",
              "cpu,host=evil value=1",
              "../../etc");
      var sample = TestReports.sample("hostile-1", 1, t0).toBuilder().clearProcesses();
      for (int i = 0; i < names.size(); i++) {
        sample.addProcesses(TestReports.process(100 + i, names.get(i), 5, 1024, 1));
      }
      store.close();
      store = s;
      write(HostReport.newBuilder().setSeq(1).setSample(sample).build());

      String measurements = influxd.query(db, "SHOW MEASUREMENTS");
      for (String m :
          List.of(
              "tcp",
              "sockstat",
              "fd",
              "process",
              "close_wait_peer",
              "port_pressure",
              "sysctl",
              "agent")) {
        assertThat(measurements).contains("[\"" + m + "\"]");
      }
      assertThat(measurements.split("\\],\\[").length).as(measurements).isEqualTo(8);
      String processSeries = influxd.query(db, "SHOW SERIES FROM \"process\"");
      assertThat(processSeries.split("process,").length - 1)
          .as(processSeries)
          .isEqualTo(names.size());
      String hosts = influxd.query(db, "SHOW TAG VALUES WITH KEY = \"host\"");
      assertThat(hosts).contains("hostile-1").doesNotContain("evil");
    } finally {
      s.close();
    }
  }

  /**
   * One hostile value in every tag a report sets from agent data (process comm, CLOSE_WAIT peer,
   * port pressure remote, sysctl name): the database holds exactly the 8 measurements and 8 series
   * of such a report, and each tag reads back as {@link TagValues#safe} of the value.
   */
  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(
      strings = {
        "line\nbreak",
        "cr\rlf\r\n",
        "trailing\\",
        "trailing\\\\\\",
        "a,b",
        "k=v",
        "with space",
        " leading and trailing ",
        "../../etc/passwd",
        "cpu,host=evil value=1\nmem,host=evil value=2",
        "x\\ y\\,z\\=",
        "tab\there"
      })
  void aHostileTagValueCreatesNoExtraMeasurementOrSeries(String value) throws Exception {
    String db = "hostile_" + Integer.toHexString(value.hashCode());
    SampleStore s = config(influxd.url(), db).build(new MetricRegistry());
    try {
      var sample =
          TestReports.sample("hostile-2", 1, t0).toBuilder().clearProcesses().clearSysctls();
      sample.addProcesses(
          TestReports.process(100, value, 5, 1024, 0).toBuilder()
              .addCloseWaitPeers(EndpointCount.newBuilder().setEndpoint(value).setCount(3)));
      sample.setPortPressure(
          sample.getPortPressure().toBuilder()
              .setTop(0, PortPressureEntry.newBuilder().setRemote(value).setInUse(7)));
      sample.addSysctls(Sysctl.newBuilder().setName(value).setValue("1"));
      store.close();
      store = s;
      write(HostReport.newBuilder().setSeq(1).setSample(sample).build());

      assertThat(values(influxd.query(db, "SHOW MEASUREMENTS")))
          .containsExactlyInAnyOrder(
              "agent",
              "close_wait_peer",
              "fd",
              "port_pressure",
              "process",
              "sockstat",
              "sysctl",
              "tcp");
      assertThat(values(influxd.query(db, "SHOW SERIES"))).hasSize(8);
      // As InfluxDB holds it: a trailing backslash is spelled out on the wire (the store reads it
      // back as one).
      String safe = TagValues.toLineProtocol(TagValues.safe(value));
      assertThat(tagValues(db, "process", "comm")).containsExactly(safe);
      assertThat(tagValues(db, "close_wait_peer", "comm")).containsExactly(safe);
      assertThat(tagValues(db, "close_wait_peer", "remote")).containsExactly(safe);
      assertThat(tagValues(db, "port_pressure", "remote")).containsExactly(safe);
      assertThat(tagValues(db, "sysctl", "name")).containsExactly(safe);
      assertThat(tagValues(db, "tcp", "host")).containsExactly("hostile-2");
    } finally {
      s.close();
    }
  }

  private List<String> tagValues(String db, String measurement, String key) throws Exception {
    JsonNode values =
        JSON.readTree(
                influxd.query(
                    db, "SHOW TAG VALUES FROM \"" + measurement + "\" WITH KEY = \"" + key + "\""))
            .at("/results/0/series/0/values");
    List<String> out = new ArrayList<>();
    for (JsonNode row : values) out.add(row.get(1).asText());
    return out;
  }

  /** The first column of every row of every series of a query's answer. */
  private static List<String> values(String json) throws Exception {
    List<String> out = new ArrayList<>();
    for (JsonNode series : JSON.readTree(json).at("/results/0/series")) {
      for (JsonNode row : series.get("values")) out.add(row.get(0).asText());
    }
    return out;
  }

  private static final ObjectMapper JSON = new ObjectMapper();
}
