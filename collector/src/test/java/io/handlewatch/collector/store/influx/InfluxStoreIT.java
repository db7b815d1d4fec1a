package io.handlewatch.collector.store.influx;

import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import io.handlewatch.collector.store.SampleStore;
import io.handlewatch.collector.store.SampleStoreContract;
import io.handlewatch.collector.testing.InfluxdHarness;
import io.handlewatch.collector.testing.TestReports;
import io.handlewatch.proto.v1.HostReport;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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
}
